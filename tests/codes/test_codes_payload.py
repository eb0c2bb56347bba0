"""Payloads and leaves: the batch templates give exactly RFC 8785, chunk roots the tree root."""

from __future__ import annotations

import json
from datetime import date

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.envelope import Keyring
from crypto.merkle import MerkleTree, leaf_hash
from crypto.serials import new_serials
from crypto.sm3 import sm3
from trace_api.codes.issuing import CHUNK
from trace_api.codes.payload import (
    BatchFacts,
    leaf_document,
    payload_bytes,
    payload_document,
    templates,
)
from trace_api.codes.sealing import SealJob, combine_chunk_roots, seal_chunk

text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)


@given(
    product=text,
    brand=text,
    lot=st.text(alphabet="ABC/%&'\"-_.0129", min_size=1, max_size=20),
    factory=text,
    item=st.integers(0, 5_000_000),
    allocation=st.none() | st.dictionaries(st.sampled_from(["organisation_id", "region"]), text),
)
def test_templates_give_the_canonical_json_of_every_item(
    product: str, brand: str, lot: str, factory: str, item: int, allocation: dict | None
) -> None:
    facts = BatchFacts(
        "tenant-1", "batch-1", "09506000134352", product, brand, lot,
        date(2026, 11, 1), None, factory, allocation,
    )  # fmt: skip
    serial = new_serials(1)[0]
    parts = templates(facts)
    assert payload_bytes(parts.payload, item, serial) == rfc8785.dumps(
        payload_document(facts, item, serial)
    )
    digest = sm3(b"some sealed bytes").hex()
    leaf = f"{parts.leaf[0]}{digest}{parts.leaf[1]}{serial}{parts.leaf[2]}"
    assert leaf.encode() == rfc8785.dumps(leaf_document(facts.gtin, lot, serial, digest))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 70), chunk_bits=st.integers(0, 4))
def test_chunk_roots_combine_to_the_root_of_the_whole_tree(n: int, chunk_bits: int) -> None:
    chunk = 1 << chunk_bits
    leaves = [sm3(i.to_bytes(4, "big")) for i in range(n)]
    roots = [
        MerkleTree.from_leaf_hashes(leaves[at : at + chunk]).root() for at in range(0, n, chunk)
    ]
    assert combine_chunk_roots(roots) == MerkleTree.from_leaf_hashes(leaves).root()
    assert CHUNK & (CHUNK - 1) == 0


def test_a_sealed_chunk_opens_with_the_serial_and_hashes_to_its_leaves() -> None:
    keyring = Keyring.new("dk-test")
    transport = Keyring.new("t")  # any SM4 key works as the transport key
    transport_key = bytes(16)
    facts = BatchFacts(
        "t", "b", "09506000134352", "龙井 Tea", "西湖", "L1", date(2026, 1, 1), None, "杭州", None
    )
    parts = templates(facts)
    serials = sorted(new_serials(10))
    job = SealJob(
        transport_key=transport_key,
        wrapped_key=keyring.wrapped_keys(transport_key)["dk-test"],
        key_id="dk-test",
        payload_parts=parts.payload,
        leaf_parts=parts.leaf,
    )
    chunk = seal_chunk(job, 0, serials)
    assert transport.active_key_id == "t"
    for i, (serial, sealed) in enumerate(zip(serials, chunk.sealed, strict=True)):
        plaintext = keyring.open(sealed, serial.encode())
        assert plaintext == rfc8785.dumps(payload_document(facts, i, serial))
        assert json.loads(plaintext)["item"] == i
        leaf_input = rfc8785.dumps(leaf_document(facts.gtin, "L1", serial, sm3(sealed).hex()))
        assert chunk.leaves[32 * i : 32 * i + 32] == leaf_hash(leaf_input)
    assert serials == sorted(serials) and len(set(serials)) == 10
