"""TraceAnchor's rules, on anvil and on the embedded chain (the `client` fixture runs both)."""

from __future__ import annotations

import pytest
from eth_abi.abi import decode
from eth_utils.crypto import keccak
from hexbytes import HexBytes

from chain import (
    AlreadyAnchored,
    AnchorContract,
    AnchorItem,
    ChainClient,
    InvalidAnchorInput,
    NotAnchorer,
    NotOwner,
    anchor_id_for,
)
from chain._reverts import decode_custom_error, is_revert, revert_data

ROOT = bytes.fromhex("ab" * 32)
META = bytes.fromhex("cd" * 32)


def _id(subject: str) -> bytes:
    return anchor_id_for("batch", "tenant-a", subject)


def _revert_name(contract: AnchorContract, call: object) -> str:
    """Run a contract call that must revert and return the custom error's name."""
    with pytest.raises(Exception) as caught:
        call.call({"from": contract.client.account})  # type: ignore[attr-defined]
    assert is_revert(caught.value), caught.value
    error = decode_custom_error(contract.artifact.abi, revert_data(caught.value))
    assert error is not None, caught.value
    return error.name


def test_get_anchor_returns_what_was_anchored(trace_anchor: AnchorContract) -> None:
    anchor_id = _id("lot-1")
    assert trace_anchor.get_anchor(anchor_id) is None
    assert not trace_anchor.is_anchored(anchor_id)

    receipt = trace_anchor.wait_for_receipt(trace_anchor.anchor(anchor_id, ROOT, 1000, 3, META))

    assert receipt.succeeded
    assert receipt.anchor_ids == (anchor_id,)
    onchain = trace_anchor.get_anchor(anchor_id)
    assert onchain is not None
    assert (onchain.root, onchain.size, onchain.kind, onchain.meta) == (ROOT, 1000, 3, META)
    assert onchain.anchorer == trace_anchor.client.account
    assert onchain.block_number == receipt.block_number
    block = trace_anchor.client.w3.eth.get_block(receipt.block_number)
    assert onchain.timestamp == block["timestamp"]
    assert trace_anchor.is_anchored(anchor_id)


def test_second_anchor_with_same_id_is_rejected(trace_anchor: AnchorContract) -> None:
    anchor_id = _id("lot-dup")
    trace_anchor.wait_for_receipt(trace_anchor.anchor(anchor_id, ROOT, 10, 1))
    nonce_before = trace_anchor.client.next_nonce()

    with pytest.raises(AlreadyAnchored) as caught:
        trace_anchor.anchor(anchor_id, bytes.fromhex("ee" * 32), 11, 1)

    assert caught.value.anchor_id == anchor_id
    assert trace_anchor.client.next_nonce() == nonce_before  # nothing was sent
    # The contract itself refuses too, whoever asks and whatever the root.
    call = trace_anchor.contract.functions.anchor(anchor_id, META, 1, 1, META)
    assert _revert_name(trace_anchor, call) == "AlreadyAnchored"
    onchain = trace_anchor.get_anchor(anchor_id)
    assert onchain is not None and onchain.root == ROOT and onchain.size == 10


def test_non_anchorer_is_rejected(trace_anchor: AnchorContract, outsider: ChainClient) -> None:
    as_outsider = AnchorContract(outsider, trace_anchor.address)

    with pytest.raises(NotAnchorer) as caught:
        as_outsider.anchor(_id("lot-x"), ROOT, 1, 1)

    assert caught.value.account == outsider.account
    assert not trace_anchor.is_anchored(_id("lot-x"))


def test_owner_grants_and_revokes_anchorers(
    trace_anchor: AnchorContract, outsider: ChainClient
) -> None:
    as_outsider = AnchorContract(outsider, trace_anchor.address)
    assert trace_anchor.owner() == trace_anchor.client.account
    assert not trace_anchor.is_anchorer(outsider.account)

    granted = trace_anchor.wait_for_receipt(trace_anchor.grant_anchorer(outsider.account))
    assert trace_anchor.is_anchorer(outsider.account)
    as_outsider.wait_for_receipt(as_outsider.anchor(_id("by-outsider"), ROOT, 1, 1))
    onchain = trace_anchor.get_anchor(_id("by-outsider"))
    assert onchain is not None and onchain.anchorer == outsider.account

    revoked = trace_anchor.wait_for_receipt(trace_anchor.revoke_anchorer(outsider.account))
    assert not trace_anchor.is_anchorer(outsider.account)
    with pytest.raises(NotAnchorer):
        as_outsider.anchor(_id("after-revoke"), ROOT, 1, 1)
    # Past anchors stay.
    assert trace_anchor.is_anchored(_id("by-outsider"))

    w3 = trace_anchor.client.w3
    events = trace_anchor.contract.events
    [grant_event] = events.AnchorerGranted().process_receipt(
        w3.eth.get_transaction_receipt(granted.tx_hash)  # type: ignore[arg-type]
    )
    [revoke_event] = events.AnchorerRevoked().process_receipt(
        w3.eth.get_transaction_receipt(revoked.tx_hash)  # type: ignore[arg-type]
    )
    for event in (grant_event, revoke_event):
        assert event["args"]["account"] == outsider.account
        assert event["args"]["by"] == trace_anchor.client.account


def test_only_the_owner_grants(trace_anchor: AnchorContract, outsider: ChainClient) -> None:
    as_outsider = AnchorContract(outsider, trace_anchor.address)

    with pytest.raises(NotOwner) as caught:
        as_outsider.grant_anchorer(outsider.account)

    assert caught.value.account == outsider.account
    assert not trace_anchor.is_anchorer(outsider.account)


def test_anchored_event_has_indexed_id_root_and_anchorer(trace_anchor: AnchorContract) -> None:
    anchor_id = _id("lot-event")
    receipt = trace_anchor.wait_for_receipt(trace_anchor.anchor(anchor_id, ROOT, 42, 7, META))
    raw = trace_anchor.client.w3.eth.get_transaction_receipt(receipt.tx_hash)  # type: ignore[arg-type]

    [log] = [entry for entry in raw["logs"] if entry["address"] == trace_anchor.address]
    topics = [bytes(topic) for topic in log["topics"]]
    assert topics[0] == keccak(text="Anchored(bytes32,bytes32,address,uint64,uint8,bytes32)")
    assert topics[1] == anchor_id
    assert topics[2] == ROOT
    assert topics[3] == bytes(12) + HexBytes(trace_anchor.client.account)
    assert decode(["uint64", "uint8", "bytes32"], bytes(log["data"])) == (42, 7, META)


def test_anchor_many_is_all_or_nothing(trace_anchor: AnchorContract) -> None:
    items = [AnchorItem(_id(f"many-{i}"), ROOT, i + 1, 1) for i in range(3)]
    receipt = trace_anchor.wait_for_receipt(trace_anchor.anchor_many(items))
    assert receipt.anchor_ids == tuple(item.anchor_id for item in items)

    fresh = AnchorItem(_id("many-fresh"), ROOT, 1, 1)
    with pytest.raises(AlreadyAnchored):
        trace_anchor.anchor_many([fresh, items[0]])
    call = trace_anchor.contract.functions.anchorMany(
        [fresh.anchor_id, items[0].anchor_id], [ROOT, ROOT], [1, 1], [1, 1], [META, META]
    )
    assert _revert_name(trace_anchor, call) == "AlreadyAnchored"
    assert not trace_anchor.is_anchored(fresh.anchor_id)

    uneven = trace_anchor.contract.functions.anchorMany([fresh.anchor_id], [], [1], [1], [META])
    assert _revert_name(trace_anchor, uneven) == "LengthMismatch"


def test_zero_id_or_root_is_rejected(trace_anchor: AnchorContract) -> None:
    with pytest.raises(InvalidAnchorInput):
        trace_anchor.anchor(_id("zero-root"), bytes(32), 1, 1)
    with pytest.raises(InvalidAnchorInput):
        trace_anchor.anchor(_id("short")[:31], ROOT, 1, 1)
    with pytest.raises(InvalidAnchorInput):
        trace_anchor.anchor(_id("big"), ROOT, 2**64, 1)

    call = trace_anchor.contract.functions.anchor(bytes(32), ROOT, 1, 1, META)
    assert _revert_name(trace_anchor, call) == "ZeroValue"


def test_find_anchor_receipt_recovers_the_anchoring_transaction(
    trace_anchor: AnchorContract,
) -> None:
    assert trace_anchor.find_anchor_receipt(_id("never")) is None
    single = trace_anchor.wait_for_receipt(trace_anchor.anchor(_id("crash-1"), ROOT, 5, 1))
    items = [AnchorItem(_id(f"crash-many-{i}"), ROOT, 1, 1) for i in range(2)]
    batch = trace_anchor.wait_for_receipt(trace_anchor.anchor_many(items))

    # As after a crash between sending and recording the hash: only the id is known.
    found = trace_anchor.find_anchor_receipt(_id("crash-1"))
    found_in_batch = trace_anchor.find_anchor_receipt(items[1].anchor_id)

    assert found == single
    assert found_in_batch == batch
