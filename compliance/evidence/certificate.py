"""The certificate of a proof: the statement, the signatures and where its leaf is anchored.

RFC 8785 JSON (the same bytes however often it is fetched, while the anchor stands)::

    {"v":1, "type":"tracechain/evidence-certificate",
     "statement":{...}, "signatures":[{"party","key","signature","signed_at"}, ...],
     "status":"pending_signatures"|"complete"|"anchored",
     "proof":null | {"v":1, "hash":"sm3", "leaf":<hex>, "index":<int>, "tree_size":<int>,
                     "path":[<hex>...], "root":<hex>,
                     "anchor":{"status", "anchor_id", "subject", "chain_id", "contract",
                               "tx", "block", "block_hash", ...}},
     "verify_url":<public URL of GET /v1/evidence/{id}/verify>}

``proof`` is DESIGN.md's proof document of the proof's leaf in its batch tree, with the
anchor's ``subject`` (``evidence-batch-<n>``) from which the anchor id derives. A
certificate says nothing its verifier takes on trust: every field is checked against the
statement, the signatures, the leaf, the path and (given an RPC URL) the chain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from compliance._wire import canonical_json, loads_strict
from compliance.errors import MalformedEvidence
from compliance.evidence.statement import (
    Signature,
    Statement,
    signature_from_json,
    statement_from_json,
)

CERTIFICATE_TYPE = "tracechain/evidence-certificate"
ANCHOR_KIND = "evidence"
STATUSES = ("pending_signatures", "complete", "anchored")
MAX_CERTIFICATE_BYTES = 4 * 1024 * 1024

_HEX32 = re.compile(r"[0-9a-f]{64}")
_BATCH_SUBJECT = re.compile(r"evidence-batch-[1-9][0-9]*")


def batch_subject(batch_id: int) -> str:
    """The anchor subject of an evidence batch: its anchor id is derived from it."""
    return f"evidence-batch-{batch_id}"


@dataclass(frozen=True)
class Anchor:
    """Where a batch root is on chain, as the certificate says."""

    status: str
    anchor_id: str
    subject: str
    chain_id: int | None
    contract: str | None
    tx: str | None
    block: int | None


@dataclass(frozen=True)
class InclusionProof:
    """The proof's leaf in its batch tree."""

    leaf: bytes
    index: int
    tree_size: int
    path: tuple[bytes, ...]
    root: bytes
    anchor: Anchor


@dataclass(frozen=True)
class Certificate:
    """A certificate read back; `document` is the JSON it was read from."""

    statement: Statement
    signatures: tuple[Signature, ...]
    status: str
    proof: InclusionProof | None
    verify_url: str | None
    document: dict[str, Any]


def certificate_json(
    *,
    statement: Statement,
    signatures: Sequence[Signature],
    status: str,
    proof: dict[str, Any] | None,
    verify_url: str,
) -> dict[str, Any]:
    """The certificate document (``proof`` as the proof document, anchor included)."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {STATUSES}")
    ordered = sorted(signatures, key=lambda s: (s.party, s.public_key))
    return {
        "v": 1,
        "type": CERTIFICATE_TYPE,
        "statement": statement.to_json(),
        "signatures": [s.to_json() for s in ordered],
        "status": status,
        "proof": proof,
        "verify_url": verify_url,
    }


def certificate_bytes(document: dict[str, Any]) -> bytes:
    """The certificate as it is served and saved: RFC 8785 JSON."""
    return canonical_json(document)


def _hex32(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or _HEX32.fullmatch(value) is None:
        raise MalformedEvidence(f"{where} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def _int(value: Any, where: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if type(value) is not int or value < 0:
        raise MalformedEvidence(f"{where} must be a non-negative integer")
    return value


def _anchor(value: Any) -> Anchor:
    if not isinstance(value, dict):
        raise MalformedEvidence("proof.anchor must be an object")
    subject = value.get("subject")
    if not isinstance(subject, str) or _BATCH_SUBJECT.fullmatch(subject) is None:
        raise MalformedEvidence("proof.anchor.subject must be evidence-batch-<n>")
    for name in ("status", "anchor_id"):
        if not isinstance(value.get(name), str):
            raise MalformedEvidence(f"proof.anchor.{name} must be a string")
    for name in ("contract", "tx"):
        if value.get(name) is not None and not isinstance(value[name], str):
            raise MalformedEvidence(f"proof.anchor.{name} must be a string")
    return Anchor(
        status=value["status"],
        anchor_id=value["anchor_id"],
        subject=subject,
        chain_id=_int(value.get("chain_id"), "proof.anchor.chain_id", optional=True),
        contract=value.get("contract"),
        tx=value.get("tx"),
        block=_int(value.get("block"), "proof.anchor.block", optional=True),
    )


def _proof(value: Any) -> InclusionProof | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("v") != 1 or value.get("hash") != "sm3":
        raise MalformedEvidence("proof must be a version 1 SM3 proof document or null")
    path = value.get("path")
    if not isinstance(path, list):
        raise MalformedEvidence("proof.path must be an array")
    return InclusionProof(
        leaf=_hex32(value.get("leaf"), "proof.leaf"),
        index=_int(value.get("index"), "proof.index"),
        tree_size=_int(value.get("tree_size"), "proof.tree_size"),
        path=tuple(_hex32(p, f"proof.path[{n}]") for n, p in enumerate(path)),
        root=_hex32(value.get("root"), "proof.root"),
        anchor=_anchor(value.get("anchor")),
    )


def read_certificate(data: bytes | dict[str, Any]) -> Certificate:
    """Read a certificate, strictly (duplicate keys, NaN, bad hex or forms are refused)."""
    if isinstance(data, bytes | bytearray):
        if len(data) > MAX_CERTIFICATE_BYTES:
            raise MalformedEvidence(f"a certificate is at most {MAX_CERTIFICATE_BYTES} bytes")
        try:
            document = loads_strict(bytes(data))
        except ValueError as exc:
            raise MalformedEvidence(f"not JSON: {exc}") from None
    else:
        document = data
    if not isinstance(document, dict):
        raise MalformedEvidence("a certificate is a JSON object")
    if document.get("v") != 1 or document.get("type") != CERTIFICATE_TYPE:
        raise MalformedEvidence(f"not a version 1 {CERTIFICATE_TYPE}")
    if document.get("status") not in STATUSES:
        raise MalformedEvidence(f"status must be one of {', '.join(STATUSES)}")
    signatures = document.get("signatures")
    if not isinstance(signatures, list):
        raise MalformedEvidence("signatures must be an array")
    verify_url = document.get("verify_url")
    if verify_url is not None and not isinstance(verify_url, str):
        raise MalformedEvidence("verify_url must be a string")
    return Certificate(
        statement=statement_from_json(document.get("statement")),
        signatures=tuple(
            signature_from_json(s, f"signatures[{n}]") for n, s in enumerate(signatures)
        ),
        status=document["status"],
        proof=_proof(document.get("proof")),
        verify_url=verify_url,
        document=document,
    )
