"""The repository's copy of the EPCIS conformance corpus is the shared one, file for file."""

from __future__ import annotations

from pathlib import Path

import pytest
from epcis_support import CONFORMANCE

SHARED = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "epcis"


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_copy_holds_the_corpus() -> None:
    files = _files(CONFORMANCE)
    assert "rest-binding/openapi.yaml" in files
    assert sum(name.endswith(".jsonld") for name in files) >= 30


def test_the_copy_matches_the_shared_corpus() -> None:
    if not SHARED.is_dir():
        pytest.skip(f"no shared corpus beside this clone ({SHARED}) to compare with")
    assert _files(CONFORMANCE) == _files(SHARED)
