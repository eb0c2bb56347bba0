"""Bundles checked against a real chain (anvil): anchors found, and every way they can differ."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from compliance_logs import SyntheticLog, assert_fails_naming, make_log, verify_bytes

from chain import AnchorContract, anchor_id_for, connect, deploy_or_attach
from compliance.checkpoint import ANCHOR_KIND, signing_key_fingerprint
from compliance.verify import TrustRoot
from crypto import sm2
from crypto.sm3 import sm3
from fixtures.anvil import AnvilNode, free_port

pytestmark = pytest.mark.anvil


@dataclass
class Chain:
    node: AnvilNode
    contract: AnchorContract

    def anchor(
        self,
        log: SyntheticLog,
        position: int,
        *,
        root: bytes | None = None,
        meta: bytes | None = None,
        record: bool = True,
    ) -> dict[str, Any]:
        """Anchor checkpoint `position` as the service would (or with a different root/meta)."""
        cp = log.checkpoints[position].checkpoint
        anchor_id = anchor_id_for("audit_checkpoint", log.tenant_id, str(cp.size))
        fingerprint = signing_key_fingerprint(log.key.public_key)
        tx = self.contract.anchor(
            anchor_id, root or cp.root, cp.size, ANCHOR_KIND, meta or fingerprint
        )
        receipt = self.contract.wait_for_receipt(tx)
        reference = {
            "chain_id": self.contract.client.chain_id,
            "contract": self.contract.address,
            "tx": receipt.tx_hash,
            "block": receipt.block_number,
            "block_hash": receipt.block_hash,
            "anchor_id": "0x" + anchor_id.hex(),
            "network": self.contract.client.network_label,
        }
        if record:
            log.set_anchor(position, reference)
        return reference


@pytest.fixture
def chain(anvil_snapshot: AnvilNode) -> Chain:
    client = connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[0])
    return Chain(anvil_snapshot, deploy_or_attach(client, None))


@pytest.fixture
def log(service_key: sm2.PrivateKey) -> SyntheticLog:
    return make_log("acme", key=service_key)


def test_anchored_checkpoints_verify_on_chain(chain: Chain, log: SyntheticLog) -> None:
    chain.anchor(log, 0)
    chain.anchor(log, 1)  # the latest is not anchored yet, as right after an export

    bundle = log.bundle(range(0, 237, 5))
    verdict = verify_bytes(bundle, rpc_url=chain.node.url, expected_contract=chain.contract.address)

    assert verdict.verified, verdict.describe()
    assert verdict.trust_roots == (TrustRoot.CHAIN,)
    assert verdict.anchors_checked == 2
    assert verdict.key_on_chain
    assert "bound by the on-chain anchors" in verdict.describe()
    # the same anchors without the contract pinned: the bundle names it, so no trust root
    unpinned = verify_bytes(bundle, rpc_url=chain.node.url)
    assert unpinned.ok and unpinned.key_on_chain and unpinned.outcome == "untrusted"


def test_a_different_anchored_root_is_named(chain: Chain, log: SyntheticLog) -> None:
    chain.anchor(log, 0)
    chain.anchor(log, 1, root=sm3(b"another history"))

    verdict = verify_bytes(log.bundle(), rpc_url=chain.node.url)

    assert_fails_naming(verdict, "checkpoint size 150")
    assert "holds root" in verdict.describe()
    assert not verdict.key_on_chain


def test_a_checkpoint_that_is_not_anchored_is_named(chain: Chain, log: SyntheticLog) -> None:
    reference = chain.anchor(log, 0)
    log.set_anchor(1, {**reference, **_claimed(log, 1)})  # claims an anchor never made

    verdict = verify_bytes(log.bundle(), rpc_url=chain.node.url)

    assert_fails_naming(verdict, "checkpoint size 150")
    assert "is not recorded" in verdict.describe()


def _claimed(log: SyntheticLog, position: int) -> dict[str, str]:
    size = log.checkpoints[position].checkpoint.size
    return {"anchor_id": "0x" + anchor_id_for("audit_checkpoint", log.tenant_id, str(size)).hex()}


def test_an_anchor_made_for_another_signing_key_is_named(chain: Chain, log: SyntheticLog) -> None:
    other = sm2.PrivateKey.generate().public_key
    chain.anchor(log, 1, meta=signing_key_fingerprint(other))

    verdict = verify_bytes(log.bundle(), rpc_url=chain.node.url)

    assert_fails_naming(verdict, "checkpoint size 150")
    assert "fingerprint" in verdict.describe()


def test_a_bundle_re_signed_by_an_attacker_fails_on_chain(chain: Chain, log: SyntheticLog) -> None:
    chain.anchor(log, 1)
    attacker = SyntheticLog(tenant_id="acme", key=sm2.PrivateKey.generate())
    attacker.append(237)
    for size in (60, 150, 237):
        attacker.checkpoint(size)
    attacker.set_anchor(1, log.checkpoints[1].anchor)  # points at the honest anchor

    forged = attacker.bundle()

    assert verify_bytes(forged).outcome == "untrusted"  # offline, unpinned: self-consistent
    verdict = verify_bytes(forged, rpc_url=chain.node.url)
    assert_fails_naming(verdict, "checkpoint size 150")  # the same content: only the key differs
    assert "fingerprint" in verdict.describe()


def test_too_few_confirmations_are_named(chain: Chain, log: SyntheticLog) -> None:
    chain.anchor(log, 1)
    verdict = verify_bytes(log.bundle(), rpc_url=chain.node.url, min_confirmations=5)
    assert_fails_naming(verdict, "checkpoint size 150")
    assert "confirmation" in verdict.describe()
    chain.node.rpc("anvil_mine", 4)
    assert verify_bytes(log.bundle(), rpc_url=chain.node.url, min_confirmations=5).ok


def test_an_anchor_on_another_chain_is_named(chain: Chain, log: SyntheticLog) -> None:
    chain.anchor(log, 1)
    log.set_anchor(1, {**log.checkpoints[1].anchor, "chain_id": 1})  # type: ignore[dict-item]
    verdict = verify_bytes(log.bundle(), rpc_url=chain.node.url)
    assert_fails_naming(verdict, "checkpoint size 150")
    assert "chain 1" in verdict.describe()


def test_no_anchor_at_all_fails_when_the_chain_is_asked(chain: Chain, log: SyntheticLog) -> None:
    verdict = verify_bytes(log.bundle(), rpc_url=chain.node.url)
    assert_fails_naming(verdict, "checkpoints.jsonl")
    assert "nothing to check on chain" in verdict.describe()


def test_an_unreachable_node_is_a_failure_not_an_exception(log: SyntheticLog) -> None:
    log.set_anchor(1, log.fake_anchor(1))
    verdict = verify_bytes(log.bundle(), rpc_url=f"http://127.0.0.1:{free_port()}")
    assert_fails_naming(verdict, "chain")
