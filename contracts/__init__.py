"""Solidity sources and their committed, compiled artifacts.

The artifacts are built by ``make contracts`` (``scripts/compile-contracts.mjs``) and ship as
package data, so nothing at run time needs a compiler.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, cast

from eth_typing import ABI

__all__ = ["ArtifactNotFound", "ContractArtifact", "load_artifact"]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class ArtifactNotFound(LookupError):
    """No compiled artifact exists under the requested contract name."""


@dataclass(frozen=True)
class ContractArtifact:
    """A compiled contract as committed in ``contracts/artifacts/<name>.json``."""

    name: str
    abi: ABI
    bytecode: str
    """Creation code, 0x-prefixed hex."""
    deployed_bytecode: str
    """Runtime code (what ``eth_getCode`` returns after deployment), 0x-prefixed hex."""
    compiler: str
    """solc's full version string, e.g. ``0.8.30+commit.73712a01.Emscripten.clang``."""
    settings: Mapping[str, Any]
    """The exact solc ``settings`` object used (optimizer, evmVersion, ...)."""
    source_path: str
    source_sha256: str


@cache
def load_artifact(name: str = "TraceAnchor") -> ContractArtifact:
    """Load the committed artifact of contract ``name`` from the installed package data."""
    if not _NAME.fullmatch(name):
        raise ArtifactNotFound(f"not a contract name: {name!r}")
    resource = resources.files(__name__).joinpath("artifacts", f"{name}.json")
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ArtifactNotFound(
            f"no artifact for contract {name!r}; run `make contracts` to build it"
        ) from None
    data = json.loads(text)
    return ContractArtifact(
        name=str(data["contractName"]),
        abi=cast(ABI, data["abi"]),
        bytecode=str(data["bytecode"]),
        deployed_bytecode=str(data["deployedBytecode"]),
        compiler=str(data["compiler"]["version"]),
        settings=data["settings"],
        source_path=str(data["source"]["path"]),
        source_sha256=str(data["source"]["sha256"]),
    )
