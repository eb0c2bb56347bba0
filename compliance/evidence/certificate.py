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
anchor's ``subject`` (``evidence-batch-<n>``) from which the anchor id derives. The anchor
holds ``status``, ``anchor_id`` and ``subject``; once confirmed also ``chain_id``,
``contract`` (EIP-55), ``tx``, ``block`` and ``block_hash`` (0x and lowercase hex), and
optionally ``network`` and ``development_chain``; nothing else.

Read back strictly: the bytes must be the document's RFC 8785 form, and every object has
exactly its keys, so a changed byte cannot slip past as other whitespace, another
encoding or an extra member. A certificate says nothing its verifier takes on trust:
every field is checked against the statement, the signatures, the leaf, the path and
(given an RPC URL) the chain, except what is there for people only: the scheme and host
of ``verify_url``, and ``anchor.network`` and ``anchor.development_chain``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_utils.address import is_checksum_address

from compliance._wire import canonical_json, loads_strict
from compliance.errors import MalformedEvidence
from compliance.evidence.statement import (
    Signature,
    Statement,
    _exact_keys,
    signature_from_json,
    statement_from_json,
)

CERTIFICATE_TYPE = "tracechain/evidence-certificate"
ANCHOR_KIND = "evidence"
STATUSES = ("pending_signatures", "complete", "anchored")
MAX_CERTIFICATE_BYTES = 4 * 1024 * 1024

ANCHOR_STATUSES = ("pending", "submitted", "confirmed", "failed")

_HEX32 = re.compile(r"[0-9a-f]{64}")
_0X_HEX32 = re.compile(r"0x[0-9a-f]{64}")
_BATCH_SUBJECT = re.compile(r"evidence-batch-[1-9][0-9]*")
_TOP_KEYS = {"v", "type", "statement", "signatures", "status", "proof", "verify_url"}
_PROOF_KEYS = {"v", "hash", "leaf", "index", "tree_size", "path", "root", "anchor"}
_ANCHOR_KEYS = {"status", "anchor_id", "subject"}
_ANCHOR_ON_CHAIN = {"chain_id", "contract", "tx", "block", "block_hash"}  # once confirmed
_ANCHOR_FOR_PEOPLE = {"network", "development_chain"}  # optional, bound to nothing


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
    block_hash: str | None = None


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
    verify_url: str
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


def _is_version_1(value: Any) -> bool:
    return type(value) is int and value == 1  # not True, not 1.0


def _hex32(value: Any, where: str) -> bytes:
    if not isinstance(value, str) or _HEX32.fullmatch(value) is None:
        raise MalformedEvidence(f"{where} must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def _0x_hex32(value: Any, where: str) -> str:
    if not isinstance(value, str) or _0X_HEX32.fullmatch(value) is None:
        raise MalformedEvidence(f"{where} must be 0x and 64 lowercase hex digits")
    return value


def _int(value: Any, where: str) -> int:
    if type(value) is not int or value < 0:
        raise MalformedEvidence(f"{where} must be a non-negative integer")
    return value


def _anchor(value: Any) -> Anchor:
    if not isinstance(value, dict):
        raise MalformedEvidence("proof.anchor must be an object")
    keys, allowed = set(value), _ANCHOR_KEYS | _ANCHOR_ON_CHAIN | _ANCHOR_FOR_PEOPLE
    if not _ANCHOR_KEYS <= keys <= allowed:
        missing, extra = sorted(_ANCHOR_KEYS - keys), sorted(keys - allowed)
        raise MalformedEvidence(f"proof.anchor: missing {missing}, unexpected {extra}")
    status = value["status"]
    if status not in ANCHOR_STATUSES:
        raise MalformedEvidence(f"proof.anchor.status must be one of {', '.join(ANCHOR_STATUSES)}")
    subject = value["subject"]
    if not isinstance(subject, str) or _BATCH_SUBJECT.fullmatch(subject) is None:
        raise MalformedEvidence("proof.anchor.subject must be evidence-batch-<n>")
    anchor_id = _0x_hex32(value["anchor_id"], "proof.anchor.anchor_id")
    if not isinstance(value.get("network", ""), str):
        raise MalformedEvidence("proof.anchor.network must be a string")
    if not isinstance(value.get("development_chain", False), bool):
        raise MalformedEvidence("proof.anchor.development_chain must be true or false")
    # Where on chain is said exactly when the anchor is confirmed, all of it or nothing.
    if keys & _ANCHOR_ON_CHAIN != (_ANCHOR_ON_CHAIN if status == "confirmed" else set()):
        raise MalformedEvidence(
            f"proof.anchor: {', '.join(sorted(_ANCHOR_ON_CHAIN))} go with status confirmed, "
            "all of them"
        )
    if status != "confirmed":
        return Anchor(status, anchor_id, subject, None, None, None, None)
    contract = value["contract"]
    if not isinstance(contract, str) or not is_checksum_address(contract):
        raise MalformedEvidence("proof.anchor.contract must be an EIP-55 checksummed address")
    chain_id = _int(value["chain_id"], "proof.anchor.chain_id")
    return Anchor(
        status=status,
        anchor_id=anchor_id,
        subject=subject,
        chain_id=chain_id,
        contract=contract,
        tx=_0x_hex32(value["tx"], "proof.anchor.tx"),
        block=_int(value["block"], "proof.anchor.block"),
        block_hash=_0x_hex32(value["block_hash"], "proof.anchor.block_hash"),
    )


def _proof(value: Any) -> InclusionProof | None:
    if value is None:
        return None
    if (
        not isinstance(value, dict)
        or not _is_version_1(value.get("v"))
        or value.get("hash") != "sm3"
    ):
        raise MalformedEvidence("proof must be a version 1 SM3 proof document or null")
    _exact_keys(value, _PROOF_KEYS, "proof")
    path = value["path"]
    if not isinstance(path, list):
        raise MalformedEvidence("proof.path must be an array")
    return InclusionProof(
        leaf=_hex32(value["leaf"], "proof.leaf"),
        index=_int(value["index"], "proof.index"),
        tree_size=_int(value["tree_size"], "proof.tree_size"),
        path=tuple(_hex32(p, f"proof.path[{n}]") for n, p in enumerate(path)),
        root=_hex32(value["root"], "proof.root"),
        anchor=_anchor(value["anchor"]),
    )


def _verify_url(value: Any, statement: Statement) -> str:
    # Its scheme and host are for people (the service may move); its path names this proof.
    path = f"/v1/evidence/{statement.evidence_id}/verify"
    scheme, _, rest = value.partition("://") if isinstance(value, str) else ("", "", "")
    if scheme not in ("http", "https") or not rest.endswith(path) or rest == path:
        raise MalformedEvidence(f"verify_url must be an http(s) URL ending in {path}")
    return str(value)


def read_certificate(data: bytes | dict[str, Any]) -> Certificate:
    """Read a certificate, strictly: MalformedEvidence names what is off.

    Bytes must be the document's RFC 8785 form (no other spacing, order or escapes);
    duplicate keys, NaN, members a form does not have, bad hex or forms are refused.
    """
    raw: bytes | None = None
    if isinstance(data, bytes | bytearray):
        if len(data) > MAX_CERTIFICATE_BYTES:
            raise MalformedEvidence(f"a certificate is at most {MAX_CERTIFICATE_BYTES} bytes")
        raw = bytes(data)
        try:
            document = loads_strict(raw)
        except ValueError as exc:
            raise MalformedEvidence(f"not JSON: {exc}") from None
    else:
        document = data
    if not isinstance(document, dict):
        raise MalformedEvidence("a certificate is a JSON object")
    if not _is_version_1(document.get("v")) or document.get("type") != CERTIFICATE_TYPE:
        raise MalformedEvidence(f"not a version 1 {CERTIFICATE_TYPE}")
    _exact_keys(document, _TOP_KEYS, "certificate")
    if document["status"] not in STATUSES:
        raise MalformedEvidence(f"status must be one of {', '.join(STATUSES)}")
    signatures = document["signatures"]
    if not isinstance(signatures, list):
        raise MalformedEvidence("signatures must be an array")
    statement = statement_from_json(document["statement"])
    certificate = Certificate(
        statement=statement,
        signatures=tuple(
            signature_from_json(s, f"signatures[{n}]") for n, s in enumerate(signatures)
        ),
        status=document["status"],
        proof=_proof(document["proof"]),
        verify_url=_verify_url(document["verify_url"], statement),
        document=document,
    )
    try:  # last: by now the document is of bounded shape
        canonical = canonical_json(document)
    except ValueError as exc:  # an integer past 2**53, a lone surrogate
        raise MalformedEvidence(f"has no canonical form: {exc}") from None
    if raw is not None and raw != canonical:
        raise MalformedEvidence("is not in its canonical form (RFC 8785): re-encoded or altered")
    return certificate
