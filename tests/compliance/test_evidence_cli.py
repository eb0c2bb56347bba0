"""`trace verify-evidence`: no server, no database; exit 0 only when every check held."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from evidence_proofs import DOCUMENT, Proof, anchor_on_chain, fake_anchor, make_proof
from typer.testing import CliRunner

from chain import AnchorContract, connect, deploy
from fixtures.anvil import AnvilNode
from trace_api.cli import app as cli_app

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli_app, ["verify-evidence", *map(str, args)])
    return result.exit_code, result.output


@pytest.fixture
def files(tmp_path: Path) -> tuple[Proof, Path, Path]:
    proof = make_proof()
    certificate, document = tmp_path / "certificate.json", tmp_path / "agreement.txt"
    certificate.write_bytes(proof.certificate_bytes(fake_anchor(proof)))
    document.write_bytes(DOCUMENT)
    return proof, certificate, document


def test_a_good_certificate_and_its_document_verify(files: tuple[Proof, Path, Path]) -> None:
    _, certificate, document = files
    code, output = _run(certificate, "--document", document)
    assert code == 0, output
    assert output.startswith("VERIFIED: contract proof ev-2026-0001")
    assert "华夏饮品有限公司 (brand)" in output and "compared with the file given" in output
    assert "not checked on chain" in output


def test_a_tampered_document_exits_1_naming_it(files: tuple[Proof, Path, Path]) -> None:
    _, certificate, document = files
    data = bytearray(document.read_bytes())
    data[100] ^= 0x20
    document.write_bytes(bytes(data))
    code, output = _run(certificate, "--document", document)
    assert code == 1
    assert output.startswith("NOT VERIFIED")
    assert "First failure: document: its sha256 digest is" in output


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        (lambda raw: raw.replace(b'"signature":"30', b'"signature":"31', 1), "signatures[0]"),
        (lambda raw: raw.replace(b'"index":2', b'"index":3'), "proof.path"),
        (lambda raw: raw.replace(b"}", b"] ", 1), "certificate: not JSON"),
        (lambda raw: raw + b"\n", "certificate: is not in its canonical form"),
    ],
    ids=["signature", "index", "structure", "re-encoded"],
)
def test_a_tampered_certificate_exits_1_naming_where(
    files: tuple[Proof, Path, Path], tamper: object, named: str
) -> None:
    _, certificate, document = files
    assert callable(tamper)
    certificate.write_bytes(tamper(certificate.read_bytes()))
    code, output = _run(certificate, "--document", document)
    assert code == 1
    assert f"First failure: {named}" in output


def test_json_output_for_scripts(files: tuple[Proof, Path, Path]) -> None:
    _, certificate, document = files
    code, output = _run(certificate, "--document", document, "--json")
    verdict = json.loads(output)
    assert code == 0 and verdict["ok"] is True and verdict["document_checked"] is True
    assert [s["party"] for s in verdict["signers"]] == ["brand", "dealer", "notary"]
    document.write_bytes(b"another document")
    code, output = _run(certificate, "--document", document, "--json")
    assert code == 1 and json.loads(output)["failures"][0]["where"] == "document"


def test_usage_errors_exit_2(files: tuple[Proof, Path, Path], tmp_path: Path) -> None:
    _, certificate, _ = files
    assert _run(certificate, "--contract", "0x" + "11" * 20)[0] == 2  # --contract needs --rpc
    assert _run(tmp_path / "absent.json")[0] == 2


def test_it_opens_no_database(files: tuple[Proof, Path, Path]) -> None:
    _, certificate, document = files
    env = {
        **os.environ,
        "TRACE_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
        "TRACE_DATA_DIR": "/nonexistent/trace",
    }
    command = [sys.executable, "-m", "trace_api.cli", "verify-evidence", str(certificate)]
    result = subprocess.run(
        [*command, "--document", str(document)],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("VERIFIED")


@pytest.fixture
def anchored(anvil_snapshot: AnvilNode, tmp_path: Path) -> tuple[AnchorContract, Path]:
    contract = deploy(connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[0]))
    proof = make_proof(batch_id=9)
    certificate = tmp_path / "certificate.json"
    certificate.write_bytes(proof.certificate_bytes(anchor_on_chain(contract, proof)))
    return contract, certificate


@pytest.mark.anvil
def test_an_anchored_certificate_verifies_over_json_rpc(
    anvil_snapshot: AnvilNode, anchored: tuple[AnchorContract, Path]
) -> None:
    contract, certificate = anchored
    code, output = _run(certificate, "--rpc", anvil_snapshot.url, "--contract", contract.address)
    assert code == 0, output
    assert "anchored:" in output and "the block's time, on chain" in output
    assert "anyone can deploy" not in output
    code, output = _run(certificate, "--rpc", anvil_snapshot.url)
    assert code == 0 and "anyone can deploy" in output  # said, as the contract was not pinned


@pytest.mark.anvil
def test_another_contract_or_too_few_confirmations_exit_1_naming_the_chain(
    anvil_snapshot: AnvilNode, anchored: tuple[AnchorContract, Path]
) -> None:
    _, certificate = anchored
    other = "0x" + "11" * 20
    code, output = _run(certificate, "--rpc", anvil_snapshot.url, "--contract", other)
    assert code == 1 and "First failure: chain: the certificate names contract" in output
    code, output = _run(certificate, "--rpc", anvil_snapshot.url, "--min-confirmations", "3")
    assert code == 1 and "First failure: chain: " in output and "3 required" in output
