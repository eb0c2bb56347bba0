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
anchor's ``subject`` (``evidence-batch-<n>``) from which the anchor id derives; it is read
by `compliance.batch_proof` (which says what the anchor holds), as e-invoices' is.

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

from compliance._wire import canonical_json, loads_strict
from compliance.batch_proof import ANCHOR_STATUSES as ANCHOR_STATUSES  # re-exported (was here)
from compliance.batch_proof import Anchor as Anchor  # re-exported (was here)
from compliance.batch_proof import InclusionProof as InclusionProof  # re-exported (was here)
from compliance.batch_proof import _is_version_1, read_batch_proof
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

_BATCH_SUBJECT = re.compile(r"evidence-batch-[1-9][0-9]*")
_TOP_KEYS = {"v", "type", "statement", "signatures", "status", "proof", "verify_url"}


def batch_subject(batch_id: int) -> str:
    """The anchor subject of an evidence batch: its anchor id is derived from it."""
    return f"evidence-batch-{batch_id}"


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
        proof=read_batch_proof(
            document["proof"],
            subject=_BATCH_SUBJECT,
            subject_form="evidence-batch-<n>",
            error=MalformedEvidence,
        ),
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
