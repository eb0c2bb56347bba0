"""Anchors prove who signed only in the service's contract: the bundle names its own.

An attacker deploys a TraceAnchor of their own on the same chain and anchors a forged
history there with their key's fingerprint as meta. Every on-chain check holds, yet the
chain is a trust root only when the caller names the service's contract.
"""

from __future__ import annotations

import pytest
from compliance_logs import SyntheticLog, assert_fails_naming, verify_bytes
from typer.testing import CliRunner

from chain import anchor_id_for, connect, deploy_or_attach
from compliance.checkpoint import ANCHOR_KIND, signing_key_fingerprint
from crypto import sm2
from fixtures.anvil import AnvilNode
from trace_api.cli import app as cli_app

pytestmark = pytest.mark.anvil


def _anchor_everything(log: SyntheticLog, node: AnvilNode, private_key: str) -> str:
    """Deploy a contract of one's own, anchor every checkpoint of `log` in it: its address."""
    contract = deploy_or_attach(connect(node.url, private_key=private_key), None)
    for position, record in enumerate(log.checkpoints):
        cp = record.checkpoint
        anchor_id = anchor_id_for("audit_checkpoint", log.tenant_id, str(cp.size))
        tx = contract.anchor(
            anchor_id, cp.root, cp.size, ANCHOR_KIND, signing_key_fingerprint(log.key.public_key)
        )
        receipt = contract.wait_for_receipt(tx)
        log.set_anchor(
            position,
            {
                "chain_id": contract.client.chain_id,
                "contract": contract.address,
                "tx": receipt.tx_hash,
                "block": receipt.block_number,
                "block_hash": receipt.block_hash,
                "anchor_id": "0x" + anchor_id.hex(),
                "network": contract.client.network_label,
            },
        )
    return contract.address


def test_a_forged_bundle_anchored_in_its_own_contract_is_not_verified(
    anvil_snapshot: AnvilNode, tmp_path
) -> None:
    node = anvil_snapshot
    genuine = SyntheticLog(tenant_id="acme", key=sm2.PrivateKey.generate())
    genuine.append(30)
    genuine.checkpoint()
    service_contract = _anchor_everything(genuine, node, node.private_keys[0])

    forged = SyntheticLog(tenant_id="acme", key=sm2.PrivateKey.generate())
    forged.append(30)
    forged.checkpoint()
    attacker_contract = _anchor_everything(forged, node, node.private_keys[1])
    assert attacker_contract.lower() != service_contract.lower()
    bundle = forged.bundle()

    unpinned = verify_bytes(bundle, rpc_url=node.url)
    assert unpinned.ok and unpinned.key_on_chain  # every on-chain check holds...
    assert unpinned.outcome == "untrusted"  # ...in a contract only the bundle vouches for
    assert "which the bundle itself names" in unpinned.describe()

    pinned = verify_bytes(bundle, rpc_url=node.url, expected_contract=service_contract)
    assert_fails_naming(pinned, "checkpoint size 30")
    assert f"not the expected {service_contract}" in pinned.describe()

    honest = verify_bytes(genuine.bundle(), rpc_url=node.url, expected_contract=service_contract)
    assert honest.verified, honest.describe()

    path = tmp_path / "forged.zip"
    path.write_bytes(bundle)
    runner = CliRunner()
    alone = runner.invoke(cli_app, ["verify-bundle", str(path), "--rpc", node.url])
    assert alone.exit_code == 3, alone.output
    refused = runner.invoke(
        cli_app, ["verify-bundle", str(path), "--rpc", node.url, "--contract", service_contract]
    )
    assert refused.exit_code == 1, refused.output
