"""The repository's copy of the EPCIS conformance corpus is whole and unaltered.

``conformance/epcis.sha256`` lists every file of the copy with its SHA-256, as taken from
GS1's repository at the commit ``conformance/README.md`` names (the same bytes as the
shared corpus the copy was made from). The copy is checked against that list, so a file
lost, added or edited shows here on any clone. After a deliberate update of the copy,
regenerate the list: ``cd tests/epcis/conformance/epcis && find . -type f | sort |
sed 's|^./||' | xargs sha256sum > ../epcis.sha256``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from epcis_support import CONFORMANCE

MANIFEST = CONFORMANCE.parent / "epcis.sha256"


def _files(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in root.rglob("*")
        if p.is_file()
    }


def _manifest() -> dict[str, str]:
    entries = {}
    for line in MANIFEST.read_text().splitlines():
        digest, name = line.split("  ", 1)
        entries[name] = digest
    return entries


def test_the_copy_holds_the_corpus() -> None:
    files = _files(CONFORMANCE)
    assert "rest-binding/openapi.yaml" in files
    assert sum(name.endswith(".jsonld") for name in files) >= 30


def test_the_copy_matches_its_manifest_file_for_file() -> None:
    files, listed = _files(CONFORMANCE), _manifest()
    assert sorted(files.keys() - listed.keys()) == [], "files not in the manifest"
    assert sorted(listed.keys() - files.keys()) == [], "files of the manifest missing"
    assert {n for n in files if files[n] != listed[n]} == set(), "files changed"
