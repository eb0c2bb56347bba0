"""verify_anchor_on_chain: one verdict per way an anchor can fail to check out."""

from __future__ import annotations

import pytest
from eth_account import Account

from chain import (
    AnchorContract,
    AnchorStatus,
    ChainIdMismatch,
    anchor_id_for,
    verify_anchor_on_chain,
)
from fixtures.anvil import AnvilNode

ROOT = b"\x5a" * 32


@pytest.fixture
def anchored(trace_anchor: AnchorContract) -> bytes:
    anchor_id = anchor_id_for("checkpoint", "tenant-v", "17")
    trace_anchor.wait_for_receipt(trace_anchor.anchor(anchor_id, ROOT, 17, 2))
    return anchor_id


def test_a_matching_anchor_is_ok(trace_anchor: AnchorContract, anchored: bytes) -> None:
    check = verify_anchor_on_chain(trace_anchor.client, trace_anchor.address, anchored, ROOT, 17)

    assert check.ok
    assert check.status is AnchorStatus.OK
    assert check.confirmations == 1
    assert check.onchain is not None and check.onchain.anchorer == trace_anchor.client.account
    assert "matches" in check.describe()


def test_wrong_root_size_or_id_are_named(trace_anchor: AnchorContract, anchored: bytes) -> None:
    client, address = trace_anchor.client, trace_anchor.address

    wrong_root = verify_anchor_on_chain(client, address, anchored, b"\x01" * 32, 17)
    wrong_size = verify_anchor_on_chain(client, address, anchored, ROOT, 18)
    missing = verify_anchor_on_chain(client, address, b"\x02" * 32, ROOT, 17)

    assert wrong_root.status is AnchorStatus.ROOT_MISMATCH
    assert ROOT.hex() in wrong_root.describe()
    assert wrong_size.status is AnchorStatus.SIZE_MISMATCH
    assert (wrong_size.expected_size, wrong_size.onchain and wrong_size.onchain.size) == (18, 17)
    assert missing.status is AnchorStatus.MISSING
    assert missing.onchain is None


def test_too_few_confirmations(trace_anchor: AnchorContract, anchored: bytes) -> None:
    check = verify_anchor_on_chain(trace_anchor.client, trace_anchor.address, anchored, ROOT, 17, 5)

    assert check.status is AnchorStatus.NOT_ENOUGH_CONFIRMATIONS
    assert (check.confirmations, check.required_confirmations) == (1, 5)
    for _ in range(4):
        trace_anchor.client.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    again = verify_anchor_on_chain(trace_anchor.client, trace_anchor.address, anchored, ROOT, 17, 5)
    assert again.ok and again.confirmations == 5


def test_an_address_without_trace_anchor_code(trace_anchor: AnchorContract) -> None:
    nobody = Account.create().address

    check = verify_anchor_on_chain(trace_anchor.client, nobody, b"\x03" * 32, ROOT, 1)

    assert check.status is AnchorStatus.NOT_TRACE_ANCHOR


@pytest.mark.anvil
def test_verifies_from_a_bare_rpc_url_without_a_key(anvil_snapshot: AnvilNode) -> None:
    from chain import connect, deploy_or_attach

    writer = connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[0])
    contract = deploy_or_attach(writer, None)
    anchor_id = anchor_id_for("batch", "tenant-v", "rpc")
    contract.wait_for_receipt(contract.anchor(anchor_id, ROOT, 3, 1))

    check = verify_anchor_on_chain(
        anvil_snapshot.url, contract.address, anchor_id, ROOT, 3, expected_chain_id=31337
    )

    assert check.ok and check.chain_id == 31337
    with pytest.raises(ChainIdMismatch):
        verify_anchor_on_chain(
            anvil_snapshot.url, contract.address, anchor_id, ROOT, 3, expected_chain_id=1
        )
