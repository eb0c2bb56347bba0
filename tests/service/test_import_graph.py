"""Every import in the code follows the layering written in docs/architecture.md.

The layering itself is the ```toml block in that page (one place); this file only
reads it and walks the code: every `import` and `from ... import`, at module level
and inside functions alike. `python tests/service/test_import_graph.py` prints the
domain graph as it is today, in the mermaid form the page shows.
"""

from __future__ import annotations

import ast
import fnmatch
import re
import tomllib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "architecture.md"
APP = "trace_api"

# Imports that go against the layering and cannot be fixed at once, each with its reason.
# Keys are (importing module, imported module). None today: every route reads Principal
# from trace_api.principal. The list may only shrink; an entry nothing needs any more
# is reported as a warning, to be removed.
ALLOWED_FOR_NOW: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Layering:
    """The rules of docs/architecture.md's block, by top-level name under trace_api."""

    base: frozenset[str]
    domains: tuple[str, ...]  # lowest first
    edge: frozenset[str]
    edge_reads: dict[str, frozenset[str]]  # edge module -> the domains it may import
    http: tuple[str, ...]  # file-name patterns of a domain's HTTP modules
    composition: frozenset[str]
    libraries: dict[str, frozenset[str]]  # library -> the libraries it may import

    def unit(self, module: str) -> str | None:
        """The base/edge/composition name or the domain a trace_api module belongs to."""
        parts = module.split(".")
        top = "__init__" if len(parts) == 1 else parts[1]
        known = self.base | self.edge | self.composition | set(self.domains)
        return top if top in known else None

    def is_http(self, module: str) -> bool:
        parts = module.split(".")
        return (
            len(parts) > 2
            and parts[1] in self.domains
            and any(fnmatch.fnmatchcase(parts[-1], pattern) for pattern in self.http)
        )

    def refusal(self, importer: str, imported: str) -> str | None:
        """Why ``importer`` may not import ``imported`` (both trace_api modules), or None."""
        src, dst = self.unit(importer), self.unit(imported)
        assert src is not None and dst is not None
        if src in self.composition:
            return None
        if dst in self.composition:
            return f"{dst} composes the app: nothing but the composition imports it"
        if dst in self.base:
            return None
        if src in self.base:
            return f"{src} is a base module: it imports only base modules"
        if self.is_http(imported) and not self.is_http(importer):
            return f"{imported} is an HTTP module: only HTTP modules and the composition use it"
        if dst in self.edge:
            if src in self.edge or self.is_http(importer):
                return None
            return f"{dst} is the HTTP edge: only HTTP modules and the composition use it"
        if src in self.edge:
            reads = self.edge_reads.get(src, frozenset())
            if dst in reads:
                return None
            return f"the HTTP edge's {src} reads base and only these domains: {sorted(reads)}"
        below = self.domains.index(dst) <= self.domains.index(src)
        if below:
            return None
        return f"{src} sits below {dst}: a domain imports only the domains below it"


def layering() -> Layering:
    """The block in docs/architecture.md that starts with `# import layering`."""
    found = re.search(r"```toml\n(# import layering.*?)```", DOC.read_text(), re.DOTALL)
    assert found, f"{DOC} has no ```toml block starting with '# import layering'"
    data: dict[str, Any] = tomllib.loads(found.group(1))
    return Layering(
        base=frozenset(data["base"]),
        domains=tuple(data["domains"]),
        edge=frozenset(data["edge"]),
        edge_reads={name: frozenset(reads) for name, reads in data["edge_reads"].items()},
        http=tuple(data["http"]),
        composition=frozenset(data["composition"]),
        libraries={name: frozenset(uses) for name, uses in data["libraries"].items()},
    )


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def sources(package: str) -> Iterator[tuple[Path, str]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path, module_name(path)


@dataclass(frozen=True)
class Import:
    path: Path
    line: int
    statement: str
    target: str  # the module it reaches: `from a.b import c` reaches a.b.c if that is a module


def imports(path: Path, module: str, modules: set[str]) -> Iterator[Import]:
    """Every import in the file, wherever it stands (function bodies, TYPE_CHECKING)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(path, node.lineno, ast.unparse(node), alias.name)
        elif isinstance(node, ast.ImportFrom):
            origin = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                origin = ".".join([*anchor, *([node.module] if node.module else [])])
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                target = submodule if submodule in modules else origin
                yield Import(path, node.lineno, ast.unparse(node), target)


def in_package(target: str, package: str) -> bool:
    return target == package or target.startswith(package + ".")


def where(found: Import) -> str:
    return f"{found.path.relative_to(ROOT)}:{found.line}: `{found.statement}`"


def app_imports() -> Iterator[tuple[str, Import]]:
    """(importing module, import) for every import of a trace_api module inside trace_api."""
    files = list(sources(APP))
    modules = {name for _, name in files}
    for path, module in files:
        for found in imports(path, module, modules):
            if in_package(found.target, APP) and found.target != module:
                yield module, found


def test_every_trace_api_module_has_a_layer() -> None:
    rules = layering()
    unplaced = sorted({name for _, name in sources(APP) if rules.unit(name) is None})
    assert not unplaced, (
        f"modules in no layer of {DOC.relative_to(ROOT)} (add them to its block): {unplaced}"
    )


def test_trace_api_imports_follow_the_layering() -> None:
    rules = layering()
    used: set[tuple[str, str]] = set()
    refused = []
    for module, found in app_imports():
        reason = rules.refusal(module, found.target)
        if reason is None:
            continue
        if (module, found.target) in ALLOWED_FOR_NOW:
            used.add((module, found.target))
            continue
        refused.append(f"{where(found)}: {reason}")
    assert not refused, "imports against docs/architecture.md:\n" + "\n".join(refused)
    for stale in sorted(ALLOWED_FOR_NOW.keys() - used):
        warnings.warn(f"ALLOWED_FOR_NOW no longer needs {stale}: remove it", stacklevel=1)


def test_libraries_never_import_the_app_and_import_each_other_one_way() -> None:
    rules = layering()
    refused = []
    for library, may_use in rules.libraries.items():
        for path, module in sources(library):
            for found in imports(path, module, set()):
                top = found.target.split(".")[0]
                if top == APP:
                    refused.append(f"{where(found)}: a library never imports {APP}")
                elif top in rules.libraries and top != library and top not in may_use:
                    refused.append(f"{where(found)}: {library} may import only {sorted(may_use)}")
    assert not refused, "imports against DESIGN.md's library graph:\n" + "\n".join(refused)


def test_a_bad_import_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    # the walk itself must see imports inside functions and name where they stand
    rules = layering()
    source = tmp_path / "trace_api" / "tenancy" / "late.py"
    source.parent.mkdir(parents=True)
    source.write_text("def f():\n    from trace_api.resolver import service\n")
    modules = {"trace_api.tenancy.late", "trace_api.resolver.service"}
    (found,) = imports(source, "trace_api.tenancy.late", modules)
    assert (found.line, found.target) == (2, "trace_api.resolver.service")
    assert rules.refusal("trace_api.tenancy.late", found.target) is not None
    assert rules.refusal("trace_api.resolver.late", "trace_api.tenancy.service") is None


def test_the_edge_reads_only_the_domains_named_for_each_of_its_modules() -> None:
    rules = layering()
    assert rules.refusal("trace_api.components", "trace_api.resolver.service") is None
    assert rules.refusal("trace_api.deps", "trace_api.tenancy.service") is None
    assert rules.refusal("trace_api.deps", "trace_api.resolver.service") is not None
    assert rules.refusal("trace_api.roles", "trace_api.tenancy.service") is not None
    assert rules.refusal("trace_api.components", "trace_api.resolver.routes") is not None
    assert rules.refusal("trace_api.codes.service", "trace_api.components") is not None
    assert rules.refusal("trace_api.codes.routes", "trace_api.components") is None


def _downwards(order: dict[str, int], edge: tuple[str, str]) -> tuple[int, int]:
    return -order[edge[0]], -order[edge[1]]


def mermaid() -> str:
    """Today's domain-to-domain imports (HTTP modules included) as a mermaid graph."""
    rules = layering()
    edges: dict[tuple[str, str], bool] = {}  # -> whether only ALLOWED_FOR_NOW imports make it
    for module, found in app_imports():
        src, dst = rules.unit(module), rules.unit(found.target)
        if src != dst and src in rules.domains and dst in rules.domains:
            for_now = (module, found.target) in ALLOWED_FOR_NOW
            edges[(src, dst)] = edges.get((src, dst), True) and for_now
    order = {name: index for index, name in enumerate(rules.domains)}
    lines = ["graph TD"]
    for (src, dst), for_now in sorted(edges.items(), key=lambda edge: _downwards(order, edge[0])):
        lines.append(f"    {src} -.->|for now| {dst}" if for_now else f"    {src} --> {dst}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(mermaid())
