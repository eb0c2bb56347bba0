"""The committed TraceAnchor artifact: what it records, and that it is exactly a fresh compile."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from contracts import ArtifactNotFound, load_artifact
from fixtures.ci import in_ci

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "compile-contracts.mjs"
ARTIFACT = REPO_ROOT / "contracts" / "artifacts" / "TraceAnchor.json"


def _require_node_and_solc() -> str:
    node = shutil.which("node")
    solc = REPO_ROOT / "node_modules" / "solc" / "package.json"
    if node is not None and solc.is_file():
        return node
    message = "node or node_modules/solc missing: install Node 20 and run `npm ci`"
    if in_ci():
        pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


def test_committed_artifact_matches_a_fresh_compile() -> None:
    node = _require_node_and_solc()

    result = subprocess.run(
        [node, str(SCRIPT), "--check"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr or result.stdout


def test_check_fails_on_a_stale_artifact(tmp_path: Path) -> None:
    node = _require_node_and_solc()
    # A copy of the layout the script expects, with one byte of the artifact changed.
    (tmp_path / "scripts").mkdir()
    shutil.copy(SCRIPT, tmp_path / "scripts")
    shutil.copy(REPO_ROOT / "package.json", tmp_path)
    shutil.copytree(
        REPO_ROOT / "contracts",
        tmp_path / "contracts",
        ignore=shutil.ignore_patterns("__pycache__", "*.py"),
    )
    os.symlink(REPO_ROOT / "node_modules", tmp_path / "node_modules")
    stale = tmp_path / "contracts" / "artifacts" / "TraceAnchor.json"
    stale.write_text(stale.read_text().replace('"runs": 200', '"runs": 201'))

    result = subprocess.run(
        [node, str(tmp_path / "scripts" / "compile-contracts.mjs"), "--check"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode != 0
    assert "TraceAnchor.json differs from a fresh compile" in result.stderr
    assert "make contracts" in result.stderr


def test_artifact_records_compiler_and_settings() -> None:
    artifact = load_artifact()

    assert artifact.name == "TraceAnchor"
    assert artifact.compiler.startswith("0.8.30+commit.")
    assert artifact.settings["optimizer"] == {"enabled": True, "runs": 200}
    assert artifact.settings["evmVersion"] == "paris"
    assert artifact.bytecode.startswith("0x60") and artifact.deployed_bytecode.startswith("0x60")
    names = {entry.get("name") for entry in artifact.abi}
    assert {"anchor", "getAnchor", "isAnchored", "grantAnchorer", "Anchored"} <= names


def test_artifact_was_built_from_the_committed_source() -> None:
    artifact = load_artifact()
    source = REPO_ROOT / artifact.source_path

    assert hashlib.sha256(source.read_bytes()).hexdigest() == artifact.source_sha256
    assert "pragma solidity 0.8.30;" in source.read_text(encoding="utf-8")


def test_artifact_text_is_canonical() -> None:
    text = ARTIFACT.read_text(encoding="utf-8")

    # Sorted keys, two-space indent, one trailing newline: what the script writes.
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"


def test_unknown_artifact_is_a_clear_error() -> None:
    with pytest.raises(ArtifactNotFound, match="make contracts"):
        load_artifact("NoSuchContract")
    with pytest.raises(ArtifactNotFound):
        load_artifact("../pyproject")
