"""A bundle made with any SM2 key is consistent, and never VERIFIED without a trust root.

The verifier exits 0 only when the bundle's key was tied to the service: pinned
(``--key``), pinned by fingerprint (``--key-fingerprint``), or bound by anchors in the
service's contract (``--rpc`` with ``--contract``). A consistent bundle checked against
none of them is UNTRUSTED, exit 3; one that fails a check is NOT VERIFIED, exit 1.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from compliance_logs import SyntheticLog, verify_bytes
from typer.testing import CliRunner

from compliance.checkpoint import signing_key_fingerprint
from compliance.verify import TrustRoot
from crypto import sm2
from trace_api.cli import app as cli_app


@pytest.fixture(scope="module")
def forged() -> bytes:
    """What anyone can make: a log of their own, checkpointed and signed with their own key."""
    log = SyntheticLog(tenant_id="acme", key=sm2.PrivateKey.generate())
    log.append(40)
    log.checkpoint(25)
    log.checkpoint()
    return log.bundle()


def _verify(tmp_path: Path, bundle: bytes, *options: str) -> tuple[int, str]:
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle)
    result = CliRunner().invoke(cli_app, ["verify-bundle", str(path), *options])
    return result.exit_code, result.output


def test_a_forged_bundle_is_untrusted_without_a_trust_root(forged: bytes, tmp_path: Path) -> None:
    verdict = verify_bytes(forged)
    assert verdict.ok  # internally consistent: every digest and signature holds
    assert not verdict.verified and verdict.trust_roots == ()
    assert verdict.outcome == "untrusted"

    code, output = _verify(tmp_path, forged)

    assert code == 3, output
    assert output.startswith("UNTRUSTED") and "NO TRUST ROOT" in output
    assert "VERIFIED:" not in output.splitlines()[0]


def test_a_forged_bundle_fails_against_the_services_pinned_key(
    forged: bytes, service_key: sm2.PrivateKey, tmp_path: Path
) -> None:
    genuine = service_key.public_key
    code, output = _verify(tmp_path, forged, "--key", genuine.hex())
    assert code == 1, output
    assert output.startswith("NOT VERIFIED") and "signing_key.json" in output

    fingerprint = signing_key_fingerprint(genuine).hex()
    code, output = _verify(tmp_path, forged, "--key-fingerprint", fingerprint)
    assert code == 1, output
    assert f"not the expected {fingerprint}" in output


def test_the_genuine_bundle_verifies_against_a_pinned_fingerprint(
    good_bundle: bytes, service_key: sm2.PrivateKey, tmp_path: Path
) -> None:
    fingerprint = signing_key_fingerprint(service_key.public_key)
    verdict = verify_bytes(good_bundle, expected_key_fingerprint=fingerprint)
    assert verdict.verified and verdict.trust_roots == (TrustRoot.PINNED_FINGERPRINT,)

    code, output = _verify(tmp_path, good_bundle, "--key-fingerprint", "0x" + fingerprint.hex())
    assert code == 0, output
    assert output.startswith("VERIFIED") and "trust root: pinned key fingerprint" in output
    code, output = _verify(tmp_path, good_bundle, "--key", service_key.public_key.hex())
    assert code == 0, output


def test_a_malformed_trust_root_is_refused(good_bundle: bytes, tmp_path: Path) -> None:
    code, output = _verify(tmp_path, good_bundle, "--key-fingerprint", "abcd")
    assert code == 1 and "not 32 bytes" in output, output
    code, _ = _verify(tmp_path, good_bundle, "--key", "not-hex")
    assert code == 2  # a usage error, not a verdict
    code, _ = _verify(tmp_path, good_bundle, "--contract", "0x" + "11" * 20)
    assert code == 2  # a contract is checked on chain only
