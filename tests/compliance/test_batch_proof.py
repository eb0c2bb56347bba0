"""compliance.batch_proof on its own: a leaf's proof in an anchored batch, read and checked.

Here as e-invoices use it (kind ``invoice``, kind byte 4, subjects ``invoice-batch-<n>``,
an error class of their own), over a real SM3 tree and real anchor ids; contract proofs'
use of it is covered through their certificates (test_evidence_verify).
"""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from typing import Any

import pytest
from evidence_proofs import REMOVE, set_path

from chain import AnchorContract, anchor_id_for, connect, deploy
from compliance._findings import Findings
from compliance.batch_proof import (
    ANCHOR_STATUSES,
    Anchor,
    InclusionProof,
    check_batch_on_chain,
    check_batch_proof,
    read_batch_proof,
)
from compliance.errors import MalformedEvidence
from compliance.evidence import certificate
from crypto import merkle
from crypto.sm3 import sm3
from fixtures.anvil import AnvilNode, free_port

TENANT = "acme"
KIND, KIND_BYTE = "invoice", 4
SUBJECT = re.compile(r"invoice-batch-[1-9][0-9]*")
SUBJECT_FORM = "invoice-batch-<n>"
BATCH = "invoice-batch-9"
INDEX = 3
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
MISMATCH = "is not the hash of this invoice"

Document = dict[str, Any]


class BadInvoice(Exception):
    """The caller's error class: what read_batch_proof must raise, and nothing else."""


TREE = merkle.MerkleTree.from_leaf_hashes(
    merkle.leaf_hash(f"invoice {n}".encode()) for n in range(6)
)
LEAF = TREE.leaf_hash_at(INDEX)


def _0x(data: bytes) -> str:
    return "0x" + data.hex()


def _anchor_id(subject: str = BATCH, kind: str = KIND, tenant: str = TENANT) -> str:
    return _0x(anchor_id_for(kind, tenant, subject))


def _document(**anchor: Any) -> Document:
    """The proof document of leaf INDEX of TREE, its anchor confirmed unless changed."""
    return {
        "v": 1,
        "hash": "sm3",
        "leaf": LEAF.hex(),
        "index": INDEX,
        "tree_size": TREE.size,
        "path": [p.hex() for p in TREE.inclusion_proof(INDEX)],
        "root": TREE.root().hex(),
        "anchor": {
            "status": "confirmed",
            "anchor_id": _anchor_id(),
            "subject": BATCH,
            "chain_id": 31337,
            "contract": CONTRACT,
            "tx": _0x(sm3(b"tx")),
            "block": 12,
            "block_hash": _0x(sm3(b"block")),
            **anchor,
        },
    }


def _read(document: Any) -> InclusionProof | None:
    return read_batch_proof(document, subject=SUBJECT, subject_form=SUBJECT_FORM, error=BadInvoice)


def _unconfirmed(status: str) -> Document:
    """The document with its anchor `status`, so not saying where on chain."""
    document = _document(status=status)
    for key in ("chain_id", "contract", "tx", "block", "block_hash"):
        del document["anchor"][key]
    return document


def _changed(path: str, value: Any) -> Document:
    document = _document()
    set_path(document, path, value)
    return document


# --- read_batch_proof ---


def test_a_proof_document_reads_back_as_it_says() -> None:
    proof = _read(_document(network="anvil", development_chain=True))
    assert proof == InclusionProof(
        leaf=LEAF,
        index=INDEX,
        tree_size=6,
        path=tuple(TREE.inclusion_proof(INDEX)),
        root=TREE.root(),
        anchor=Anchor(
            status="confirmed",
            anchor_id=_anchor_id(),
            subject=BATCH,
            chain_id=31337,
            contract=CONTRACT,
            tx=_0x(sm3(b"tx")),
            block=12,
            block_hash=_0x(sm3(b"block")),
        ),
    )


def test_null_is_no_proof_and_an_unconfirmed_anchor_says_nowhere_on_chain() -> None:
    assert _read(None) is None
    for status in ("pending", "submitted", "failed"):
        proof = _read(_unconfirmed(status))
        assert proof is not None
        assert proof.anchor == Anchor(status, _anchor_id(), BATCH, None, None, None, None)


def test_the_anchor_classes_are_still_those_of_the_certificate() -> None:
    assert certificate.Anchor is Anchor and certificate.InclusionProof is InclusionProof
    assert certificate.ANCHOR_STATUSES is ANCHOR_STATUSES


_VERSION = "proof must be a version 1 SM3 proof document or null"
_SUBJECT = "proof.anchor.subject must be invoice-batch-<n>"
_ON_CHAIN = (
    "proof.anchor: block, block_hash, chain_id, contract, tx go with status confirmed, all of them"
)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], _VERSION),
        ("proof", _VERSION),
        (_changed("v", True), _VERSION),
        (_changed("v", 1.0), _VERSION),
        (_changed("v", 2), _VERSION),
        (_changed("hash", "sha256"), _VERSION),
        (_changed("hash", REMOVE), _VERSION),
        (_changed("extra", 1), "proof: missing [], unexpected ['extra']"),
        (_changed("root", REMOVE), "proof: missing ['root'], unexpected []"),
        (_changed("path", "00"), "proof.path must be an array"),
        (_changed("leaf", LEAF.hex().upper()), "proof.leaf must be 64 lowercase hex digits"),
        (_changed("leaf", LEAF.hex()[:-2]), "proof.leaf must be 64 lowercase hex digits"),
        (_changed("path.1", 7), "proof.path[1] must be 64 lowercase hex digits"),
        (_changed("root", _0x(TREE.root())), "proof.root must be 64 lowercase hex digits"),
        (_changed("index", -1), "proof.index must be a non-negative integer"),
        (_changed("index", True), "proof.index must be a non-negative integer"),
        (_changed("tree_size", "6"), "proof.tree_size must be a non-negative integer"),
        (_changed("anchor", None), "proof.anchor must be an object"),
        (_changed("anchor.meta", "x"), "proof.anchor: missing [], unexpected ['meta']"),
        (_changed("anchor.subject", REMOVE), "proof.anchor: missing ['subject'], unexpected []"),
        (
            _changed("anchor.status", "done"),
            "proof.anchor.status must be one of pending, submitted, confirmed, failed",
        ),
        (_changed("anchor.subject", "evidence-batch-9"), _SUBJECT),
        (_changed("anchor.subject", "invoice-batch-0"), _SUBJECT),
        (_changed("anchor.subject", "invoice-batch-9 "), _SUBJECT),
        (
            _changed("anchor.anchor_id", _anchor_id()[2:]),
            "proof.anchor.anchor_id must be 0x and 64 lowercase hex digits",
        ),
        (_changed("anchor.network", 5), "proof.anchor.network must be a string"),
        (
            _changed("anchor.development_chain", "no"),
            "proof.anchor.development_chain must be true or false",
        ),
        (_changed("anchor.tx", REMOVE), _ON_CHAIN),
        (_changed("anchor.status", "pending"), _ON_CHAIN),
        (
            _changed("anchor.contract", CONTRACT.lower()),
            "proof.anchor.contract must be an EIP-55 checksummed address",
        ),
        (_changed("anchor.chain_id", -1), "proof.anchor.chain_id must be a non-negative integer"),
        (_changed("anchor.tx", "0x12"), "proof.anchor.tx must be 0x and 64 lowercase hex digits"),
        (_changed("anchor.block", "12"), "proof.anchor.block must be a non-negative integer"),
        (
            _changed("anchor.block_hash", None),
            "proof.anchor.block_hash must be 0x and 64 lowercase hex digits",
        ),
    ],
)
def test_a_malformed_proof_raises_the_given_error_naming_what_is_off(
    document: Any, message: str
) -> None:
    with pytest.raises(BadInvoice) as raised:
        _read(document)
    assert type(raised.value) is BadInvoice
    assert str(raised.value) == message


def test_the_error_class_and_the_subject_are_the_callers() -> None:
    document = _changed("anchor.subject", "invoice-batch-x")
    with pytest.raises(MalformedEvidence, match=r"^proof\.anchor\.subject must be evidence-b"):
        read_batch_proof(
            document,
            subject=re.compile(r"evidence-batch-[1-9][0-9]*"),
            subject_form="evidence-batch-<n>",
            error=MalformedEvidence,
        )


# --- check_batch_proof ---


def _check(proof: InclusionProof | None, *, leaf: bytes = LEAF) -> tuple[bool, Findings]:
    findings = Findings(step=7)
    held = check_batch_proof(
        proof,
        leaf=leaf,
        leaf_mismatch=MISMATCH,
        anchor_kind=KIND,
        tenant=TENANT,
        findings=findings,
        what="invoice",
    )
    assert findings.step == 7  # the caller's to set
    assert held == (not findings.failures())
    return held, findings


def _failure(proof: InclusionProof | None, **kwargs: Any) -> tuple[str, str]:
    held, findings = _check(proof, **kwargs)
    assert not held
    [failure] = findings.failures()
    return failure.where, failure.reason


def test_a_good_proof_holds() -> None:
    held, findings = _check(_read(_document()))
    assert held and not findings.failures() and not findings.notes


def test_no_proof_is_not_in_an_anchored_batch_yet() -> None:
    assert _failure(None) == ("proof", "the invoice is not in an anchored batch yet")


def test_a_wrong_leaf_fails_with_the_callers_words() -> None:
    other = TREE.leaf_hash_at(INDEX - 1)
    assert _failure(_read(_document()), leaf=other) == ("proof.leaf", MISMATCH)
    # a document naming the caller's leaf still needs a path from it to the root
    assert _failure(_read(_changed("leaf", other.hex())), leaf=other)[0] == "proof.path"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("path.0", sm3(b"another node").hex()),
        ("path", []),
        ("index", INDEX + 1),
        ("tree_size", 4),  # 5 to 8 hold: index 3's path is the same (bound on chain only)
        ("root", sm3(b"another root").hex()),
    ],
    ids=["node", "no path", "index", "tree size", "root"],
)
def test_a_broken_path_fails(path: str, value: Any) -> None:
    proof = _read(_changed(path, value))
    assert _failure(proof) == ("proof.path", "does not lead from the leaf to the root")


@pytest.mark.parametrize(
    "anchor_id",
    [
        _anchor_id(kind="evidence"),
        _anchor_id(tenant="other"),
        _anchor_id(subject="invoice-batch-10"),
        _0x(sm3(b"an id")),
    ],
    ids=["other kind", "other tenant", "other batch", "made up"],
)
def test_an_anchor_id_not_derived_from_the_batch_fails(anchor_id: str) -> None:
    proof = _read(_document(anchor_id=anchor_id))
    assert _failure(proof) == (
        "proof.anchor",
        f"anchor_id is not {_anchor_id()}, derived from its batch",
    )


@pytest.mark.parametrize("status", ["pending", "submitted", "failed"])
def test_an_unconfirmed_anchor_fails(status: str) -> None:
    assert _failure(_read(_unconfirmed(status))) == (
        "proof.anchor",
        f"the batch is not anchored yet ({status})",
    )


# --- check_batch_on_chain ---


def _on_chain(
    proof: InclusionProof, rpc_url: str, expected_contract: str | None = None
) -> tuple[datetime | None, Findings]:
    findings = Findings(step=6)
    at = check_batch_on_chain(
        proof,
        rpc_url=rpc_url,
        expected_contract=expected_contract,
        min_confirmations=1,
        kind_byte=KIND_BYTE,
        kind_name=KIND,
        findings=findings,
        document_name="the invoice",
    )
    assert (at is None) == bool(findings.failures())
    return at, findings


def _chain_failure(proof: InclusionProof, rpc_url: str, **kwargs: Any) -> str:
    _, findings = _on_chain(proof, rpc_url, **kwargs)
    [failure] = findings.failures()
    assert failure.where == "chain"
    return failure.reason


def test_a_contract_other_than_the_pinned_one_fails_before_reading_the_chain() -> None:
    proof = _read(_document())
    assert proof is not None
    pinned = "0x" + "ab" * 20
    reason = _chain_failure(proof, "http://127.0.0.1:1", expected_contract=pinned)
    assert reason == f"the invoice names contract {CONTRACT}, not {pinned}"


def test_an_unreachable_node_fails_naming_it() -> None:
    proof = _read(_document())
    assert proof is not None
    url = f"http://127.0.0.1:{free_port()}"
    assert _chain_failure(proof, url).startswith(f"cannot read the chain at {url}: ")


def _anchored(contract: AnchorContract, kind: int) -> InclusionProof:
    """Anchor TREE's root on chain under the batch's id, with `kind`, and read where."""
    tx = contract.anchor(bytes.fromhex(_anchor_id()[2:]), TREE.root(), TREE.size, kind)
    receipt = contract.wait_for_receipt(tx)
    chain = {"chain_id": contract.client.chain_id, "contract": contract.address}
    tx_at = {"tx": receipt.tx_hash, "block": receipt.block_number}
    proof = _read(_document(**chain, **tx_at, block_hash=receipt.block_hash))
    assert proof is not None
    return proof


@pytest.fixture
def contract(anvil_snapshot: AnvilNode) -> AnchorContract:
    return deploy(connect(anvil_snapshot.url, private_key=anvil_snapshot.private_keys[0]))


@pytest.mark.anvil
def test_an_invoice_batch_anchored_on_chain_holds_at_its_blocks_time(
    anvil_snapshot: AnvilNode, contract: AnchorContract
) -> None:
    proof = _anchored(contract, KIND_BYTE)
    at, findings = _on_chain(proof, anvil_snapshot.url, expected_contract=contract.address)
    onchain = contract.get_anchor(bytes.fromhex(proof.anchor.anchor_id[2:]))
    assert onchain is not None and at is not None and not findings.failures()
    assert int(at.timestamp()) == onchain.timestamp


@pytest.mark.anvil
def test_an_anchor_of_another_kind_fails_naming_the_callers_kind(
    anvil_snapshot: AnvilNode, contract: AnchorContract
) -> None:
    proof = _anchored(contract, 3)
    assert _chain_failure(proof, anvil_snapshot.url) == "the anchor has kind 3, not 4 (invoice)"


@pytest.mark.anvil
def test_another_block_fails_in_the_callers_words(
    anvil_snapshot: AnvilNode, contract: AnchorContract
) -> None:
    proof = _anchored(contract, KIND_BYTE)
    block = proof.anchor.block
    assert block is not None
    moved = dataclasses.replace(proof, anchor=dataclasses.replace(proof.anchor, block=block + 1))
    reason = _chain_failure(moved, anvil_snapshot.url)
    assert reason == f"the anchor is in block {block}; the invoice says {block + 1}"
