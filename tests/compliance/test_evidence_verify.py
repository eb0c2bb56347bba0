"""Verifying a contract-proof certificate: offline (steps 1-5) and against a real anvil (6).

A good certificate is a statement signed by its parties whose leaf sits in a real SM3
batch tree; on anvil its root is anchored as the worker does it (kind 3, the anchor id
derived from the tenant and ``evidence-batch-<n>``). One changed byte of the document, of
the certificate or of a signature fails, and the first failure names where.
"""

from __future__ import annotations

import contextlib
import copy
import io
from collections.abc import Callable
from typing import Any

import pytest
from evidence_proofs import (
    DOCUMENT,
    KEYS,
    REMOVE,
    Proof,
    anchor_on_chain,
    fake_anchor,
    make_proof,
    make_statement,
    set_path,
    sign,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain import AnchorContract, connect, deploy
from compliance.evidence.certificate import certificate_bytes
from compliance.evidence.statement import Signature, key_fingerprint
from compliance.evidence.verify import EvidenceVerdict, verify_certificate
from crypto.sm3 import sm3
from fixtures.anvil import AnvilNode, free_port

Document = dict[str, Any]


def _verify(certificate: Document | bytes, **kwargs: Any) -> EvidenceVerdict:
    """Verify the certificate's bytes (a document with no canonical form as it is)."""
    if isinstance(certificate, dict):
        with contextlib.suppress(ValueError):
            certificate = certificate_bytes(certificate)
    return verify_certificate(certificate, **kwargs)


def _changed(document: Document, change: Callable[[Document], object]) -> Document | bytes:
    """The certificate with one value changed, in canonical form again (past step 1)."""
    altered = copy.deepcopy(document)
    change(altered)
    try:
        return certificate_bytes(altered)
    except ValueError:  # no canonical form: verified as a document
        return altered


def _first(verdict: EvidenceVerdict) -> tuple[str, str]:
    assert not verdict.ok, "expected a failure"
    failure = verdict.failures[0]
    return failure.where, failure.reason


@pytest.fixture(scope="module")
def proof() -> Proof:
    return make_proof()


@pytest.fixture(scope="module")
def good(proof: Proof) -> Document:
    return proof.certificate(fake_anchor(proof))


# --- steps 1-5, offline ---


def test_a_good_certificate_passes_steps_1_to_5(proof: Proof, good: Document) -> None:
    verdict = _verify(good, document=io.BytesIO(DOCUMENT))

    assert verdict.ok, verdict.failures
    assert verdict.evidence_id == "ev-2026-0001"
    assert verdict.document_checked and not verdict.chain_checked
    assert [(s.party, s.key) for s in verdict.signers] == [
        (ref, key_fingerprint(KEYS[ref].public_key.hex())) for ref in ("brand", "dealer", "notary")
    ]
    assert [s.signed_at for s in verdict.signers] == [s.signed_at for s in proof.signatures]
    assert any("RPC" in note for note in verdict.notes)
    assert verdict.to_json()["ok"] is True


def test_a_document_given_as_a_path_is_read_in_chunks(good: Document, tmp_path: Any) -> None:
    path = tmp_path / "agreement.txt"
    path.write_bytes(DOCUMENT)
    assert _verify(good, document=path).ok
    missing = _verify(good, document=tmp_path / "absent.txt")
    assert _first(missing)[0] == "document" and "cannot be read" in _first(missing)[1]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: bytes([d[0] ^ 0x01]) + d[1:],
        lambda d: d[:1000] + bytes([d[1000] ^ 0x80]) + d[1001:],
        lambda d: d[:-1] + b"?",
        lambda d: d + b"\n",
        lambda d: d[:-1],
        lambda d: b"",
    ],
    ids=["first byte", "middle byte", "last byte", "one byte more", "one byte less", "empty"],
)
def test_one_changed_byte_of_the_document_fails_naming_it(
    good: Document, tamper: Callable[[bytes], bytes]
) -> None:
    verdict = _verify(good, document=io.BytesIO(tamper(DOCUMENT)))
    assert _first(verdict)[0] == "document"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_changed_byte_of_the_document_fails(good: Document, data: st.DataObject) -> None:
    at = data.draw(st.integers(0, len(DOCUMENT) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(DOCUMENT)
    tampered[at] ^= flip
    verdict = _verify(good, document=io.BytesIO(bytes(tampered)))
    assert _first(verdict)[0] == "document"
    assert [f.reason.split()[1] for f in verdict.failures] == ["sha256", "sm3"]


def _value_span(data: bytes, key: str) -> range:
    """Where the value of the (unique) member ``key`` lies in canonical JSON bytes."""
    start = data.index(f'"{key}":'.encode()) + len(key) + 3
    if data[start] == ord('"'):
        return range(start, data.index(b'"', start + 1) + 1)
    end = start
    while data[end] not in b",}]":
        end += 1
    return range(start, end)


def _unbound(data: bytes, *, on_chain: bool) -> set[int]:
    """Positions no check can catch: what is there for people, and offline what the chain binds.

    ``verify_url``'s scheme and host and ``anchor.network`` are bound to nothing (the
    service may move; a network's name is a label). Offline, nothing binds the anchor's
    chain id, contract, transaction, block and block hash, nor the tree size: a root does
    not commit to the size of its tree, the chain does (see the tree-size test below).
    """
    url = _value_span(data, "verify_url")
    spans = [
        range(url.start, data.index(b"/v1/evidence/", url.start)),
        _value_span(data, "network"),
    ]
    if not on_chain:
        keys = ("chain_id", "contract", "tx", "block", "block_hash", "tree_size")
        spans.extend(_value_span(data, key) for key in keys)
    return {at for span in spans for at in span}


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_changed_byte_of_the_certificate_fails_and_never_raises(
    good: Document, data: st.DataObject
) -> None:
    raw = certificate_bytes(good)
    unbound = _unbound(raw, on_chain=False)
    at = data.draw(st.integers(0, len(raw) - 1).filter(lambda n: n not in unbound))
    flip = data.draw(st.integers(1, 255))
    tampered = bytearray(raw)
    tampered[at] ^= flip
    verdict = _verify(bytes(tampered), document=io.BytesIO(DOCUMENT))
    assert not verdict.ok, f"byte {at} ({raw[at - 20 : at + 20]!r}) changed unnoticed"


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


def _paths(value: Any, prefix: str = "") -> list[str]:
    """Every member and element of a document, as `set_path` paths."""
    items = enumerate(value) if isinstance(value, list) else value.items()
    paths = []
    for key, item in items:
        path = f"{prefix}{key}"
        paths.append(path)
        if isinstance(item, dict | list) and item:
            paths.extend(_paths(item, path + "."))
    return paths


# Values no offline check binds (see `_unbound`): any value of their type still verifies.
_FREE = ("network", "development_chain", "chain_id", "block", "tree_size")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), junk=_JSON)
def test_any_value_anywhere_is_a_verdict_never_an_error(
    good: Document, data: st.DataObject, junk: Any
) -> None:
    path = data.draw(st.sampled_from(_paths(good)))
    altered = copy.deepcopy(good)
    set_path(altered, path, lambda old: junk)
    verdict = _verify(altered)
    if altered != good and not path.endswith(_FREE):
        assert not verdict.ok, f"{path} = {junk!r} went unnoticed"


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_bytes_that_are_no_certificate_are_a_verdict(junk: bytes) -> None:
    assert _first(verify_certificate(junk))[0] == "certificate"


X = sm3(b"x").hex()


def _flip_hex(text: str) -> str:
    return text[:20] + ("0" if text[20] != "0" else "1") + text[21:]


DEALER_KEY = KEYS["dealer"].public_key.hex()
ELSEWHERE = "https://trace.example.com/v1/evidence/ev-2/verify"
CHANGES: list[tuple[str, Any, str, str]] = [
    ("statement.title", "华东区经销协议 (revised)", "statement", "no signature verifies"),
    ("statement.digests.sm3", "0" * 64, "statement", "no signature verifies"),
    ("statement.parties.1.name", "西方经销", "statement", "no signature verifies"),
    ("statement.tenant", "other", "statement", "no signature verifies"),
    ("signatures.1.signature", _flip_hex, "signatures[1] (party dealer)", "does not verify"),
    ("signatures.0.key", DEALER_KEY, "signatures[0] (party brand)", "does not verify"),
    ("signatures.0.party", "auditor", "signatures[0] (party auditor)", "names no party"),
    ("signatures.2.signed_at", "2026-12-06T09:00:00.000000Z", "proof.leaf", "not the hash"),
    ("proof.leaf", X, "proof.leaf", "not the hash"),
    ("proof.index", 3, "proof.path", "does not lead"),
    ("proof.path.0", X, "proof.path", "does not lead"),
    ("proof.path.2", REMOVE, "proof.path", "does not lead"),
    ("proof.root", X, "proof.path", "does not lead"),
    ("proof.anchor.anchor_id", "0x" + X, "proof.anchor", "anchor_id is not"),
    ("proof.anchor.subject", "evidence-batch-8", "proof.anchor", "anchor_id is not"),
    ("status", "complete", "status", "signed and anchored"),
    ("verify_url", ELSEWHERE, "certificate", "verify_url must"),
    ("comment", "all good", "certificate", "unexpected ['comment']"),
    ("proof.hint", "x", "certificate", "unexpected ['hint']"),
    ("proof.anchor.confirmations", 3, "certificate", "unexpected ['confirmations']"),
    ("proof.anchor.block_hash", REMOVE, "certificate", "go with status confirmed"),
    ("proof.anchor.contract", str.lower, "certificate", "EIP-55"),
    ("proof.anchor.tx", str.upper, "certificate", "proof.anchor.tx"),
    ("statement.size", 2**60, "certificate", "canonical"),
    ("v", True, "certificate", "version 1"),
]


@pytest.mark.parametrize(("path", "value", "where", "reason"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_changed_value_fails_naming_where(
    good: Document, path: str, value: Any, where: str, reason: str
) -> None:
    found_where, found_reason = _first(_verify(_changed(good, lambda d: set_path(d, path, value))))
    assert found_where == where
    assert reason in found_reason


def test_a_certificate_not_in_its_canonical_form_fails(good: Document) -> None:
    import json

    pretty = json.dumps(good, indent=2, ensure_ascii=False).encode()
    where, reason = _first(_verify(pretty))
    assert where == "certificate" and "canonical form" in reason
    assert _verify(good).ok  # the same document, as a dict, has its canonical form


def test_a_missing_required_signer_fails(proof: Proof) -> None:
    unsigned = make_proof(signers=("brand", "notary"))
    verdict = _verify(unsigned.certificate(fake_anchor(unsigned)))
    assert _first(verdict) == ("party dealer", "东方经销商贸有限公司 has not signed")
    assert [s.party for s in verdict.signers] == ["brand", "notary"]


def test_an_optional_party_need_not_sign() -> None:
    proof = make_proof(signers=("brand", "dealer"))
    assert _verify(proof.certificate(fake_anchor(proof))).ok


def test_one_bad_signature_names_only_that_signature() -> None:
    statement = make_statement()
    forged = sign(statement, "dealer", key=KEYS["brand"])
    wrong_key = Signature(
        "dealer", KEYS["dealer"].public_key.hex(), forged.signature, forged.signed_at
    )
    proof = make_proof(statement, signatures=(sign(statement, "brand"), wrong_key))
    verdict = _verify(proof.certificate(fake_anchor(proof)))
    assert [f.where for f in verdict.failures] == ["signatures[1] (party dealer)", "party dealer"]


def test_an_unanchored_certificate_fails_saying_so() -> None:
    proof = make_proof()
    verdict = _verify(proof.certificate(None, status="complete"), document=io.BytesIO(DOCUMENT))
    assert _first(verdict) == ("proof", "the proof is not in an anchored batch yet")
    pending = {"status": "pending", "anchor_id": proof.anchor_id}
    verdict = _verify(proof.certificate(pending, status="complete"))
    assert _first(verdict) == ("proof.anchor", "the batch is not anchored yet (pending)")


def test_a_pending_anchor_that_claims_a_block_is_malformed() -> None:
    proof = make_proof()
    claims = fake_anchor(proof, status="submitted")
    where, reason = _first(_verify(proof.certificate(claims, status="complete")))
    assert where == "certificate" and "go with status confirmed" in reason


# --- step 6, against anvil ---


@pytest.fixture
def contract(anvil_snapshot: AnvilNode) -> AnchorContract:
    client = connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[0])
    return deploy(client)


@pytest.fixture
def anchored(contract: AnchorContract) -> tuple[Proof, Document]:
    proof = make_proof(batch_id=42, batch_size=7, index=5)
    return proof, proof.certificate(anchor_on_chain(contract, proof))


@pytest.mark.anvil
def test_an_anchored_certificate_verifies_on_chain(
    anvil_snapshot: AnvilNode, contract: AnchorContract, anchored: tuple[Proof, Document]
) -> None:
    _, document = anchored
    verdict = _verify(
        document,
        document=io.BytesIO(DOCUMENT),
        rpc_url=anvil_snapshot.url,
        expected_contract=contract.address,
    )
    assert verdict.ok, verdict.failures
    assert verdict.chain_checked and verdict.contract_pinned
    onchain = contract.get_anchor(bytes.fromhex(document["proof"]["anchor"]["anchor_id"][2:]))
    assert onchain is not None and onchain.kind == 3
    assert verdict.anchored_at is not None
    assert int(verdict.anchored_at.timestamp()) == onchain.timestamp
    unpinned = _verify(document, rpc_url=anvil_snapshot.url)
    assert unpinned.ok and unpinned.chain_checked and not unpinned.contract_pinned


def _anchored_otherwise(contract: AnchorContract, **changes: Any) -> Document:
    proof = make_proof(batch_id=43)
    anchor = anchor_on_chain(contract, proof, **changes)
    return proof.certificate(anchor)


@pytest.mark.anvil
@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"root": sm3(b"another batch")}, "holds root 0x"),
        ({"size": 6}, "holds size 6, expected 5"),
        ({"kind": 1}, "kind 1, not 3 (evidence)"),
    ],
    ids=["root", "size", "kind"],
)
def test_a_different_anchor_on_chain_fails_naming_the_chain(
    anvil_snapshot: AnvilNode, contract: AnchorContract, changes: dict[str, Any], reason: str
) -> None:
    document = _anchored_otherwise(contract, **changes)
    assert _verify(document).ok  # offline all is consistent: only the chain tells
    where, found = _first(_verify(document, rpc_url=anvil_snapshot.url))
    assert where == "chain" and reason in found


@pytest.mark.anvil
def test_the_tree_size_is_bound_only_on_chain(
    anvil_snapshot: AnvilNode, anchored: tuple[Proof, Document]
) -> None:
    _, document = anchored
    bigger = _changed(document, lambda d: d["proof"].update(tree_size=8))
    assert _verify(bigger).ok  # index 5 of 7 has the same path in a tree of 8
    where, reason = _first(_verify(bigger, rpc_url=anvil_snapshot.url))
    assert where == "chain" and "holds size 7, expected 8" in reason


ACCOUNT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil's second account: no code


@pytest.mark.anvil
@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda a: a.update(chain_id=1), "the anchor is on chain 1; "),
        (lambda a: a.update(block=a["block"] + 1), "the anchor is in block"),
        (lambda a: a.update(tx="0x" + sm3(b"x").hex()), "did not anchor"),
        (lambda a: a.update(block_hash="0x" + sm3(b"x").hex()), "the certificate says"),
        (lambda a: a.update(contract=ACCOUNT), "is not a TraceAnchor contract"),
    ],
    ids=["chain id", "block", "tx", "block hash", "not a contract"],
)  # fmt: skip
def test_a_changed_anchor_fails_naming_the_chain(
    anvil_snapshot: AnvilNode,
    anchored: tuple[Proof, Document],
    change: Callable[[dict[str, Any]], None],
    reason: str,
) -> None:
    _, document = anchored
    altered = _changed(document, lambda d: change(d["proof"]["anchor"]))
    assert _verify(altered).ok
    where, found = _first(_verify(altered, rpc_url=anvil_snapshot.url))
    assert where == "chain" and reason in found


@pytest.mark.anvil
def test_a_root_anchored_in_another_contract_fails_when_the_contract_is_pinned(
    anvil_snapshot: AnvilNode, contract: AnchorContract
) -> None:
    forger = deploy(connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[1]))
    document = _anchored_otherwise(forger)
    assert _verify(document, rpc_url=anvil_snapshot.url).ok  # a real TraceAnchor, but whose?
    pinned = _verify(document, rpc_url=anvil_snapshot.url, expected_contract=contract.address)
    where, reason = _first(pinned)
    assert where == "chain" and f"not {contract.address}" in reason


@pytest.mark.anvil
def test_an_anchor_never_made_fails_naming_the_chain(
    anvil_snapshot: AnvilNode, contract: AnchorContract, anchored: tuple[Proof, Document]
) -> None:
    proof = make_proof(batch_id=44)
    claimed = fake_anchor(proof, chain_id=contract.client.chain_id, contract=contract.address)
    where, reason = _first(_verify(proof.certificate(claimed), rpc_url=anvil_snapshot.url))
    assert where == "chain" and "is not recorded" in reason


@pytest.mark.anvil
def test_too_few_confirmations_and_an_unreachable_node_fail_naming_the_chain(
    anvil_snapshot: AnvilNode, anchored: tuple[Proof, Document]
) -> None:
    _, document = anchored
    where, reason = _first(_verify(document, rpc_url=anvil_snapshot.url, min_confirmations=5))
    assert where == "chain" and "1 confirmation(s), 5 required" in reason
    anvil_snapshot.rpc("anvil_mine", "0x4")
    assert _verify(document, rpc_url=anvil_snapshot.url, min_confirmations=5).ok
    down = _verify(document, rpc_url=f"http://127.0.0.1:{free_port()}")
    assert _first(down)[0] == "chain" and "cannot read the chain" in _first(down)[1]


@pytest.mark.anvil
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_on_chain_any_changed_byte_but_the_labels_fails(
    anvil_snapshot: AnvilNode, anchored: tuple[Proof, Document], data: st.DataObject
) -> None:
    raw = certificate_bytes(anchored[1])
    unbound = _unbound(raw, on_chain=True)
    at = data.draw(st.integers(0, len(raw) - 1).filter(lambda n: n not in unbound))
    tampered = bytearray(raw)
    tampered[at] ^= data.draw(st.integers(1, 255))
    verdict = _verify(bytes(tampered), rpc_url=anvil_snapshot.url)
    assert not verdict.ok, f"byte {at} ({raw[at - 20 : at + 20]!r}) changed unnoticed"
