"""The statement the parties of a proof sign, their signatures, and the proof's Merkle leaf.

A statement is RFC 8785 JSON of::

    {"v":1, "type":"tracechain/evidence-statement", "tenant":<id>, "id":<evidence id>,
     "title":<text>, "kind":"contract"|"agreement"|"quality_report"|"recall_notice"|"other",
     "digests":{"sm3":<hex>, "sha256":<hex>} (at least one), "size":<bytes>|null,
     "parties":[{"ref":<party id>, "name":<text>, "uscc":<18 chars>|null,
                 "organisation":<organisation id>|null, "required":<bool>}, ...],
     "links":[{"type":<object type>, "id":<object id>}, ...],
     "created_at":"2026-12-06T08:30:00.000000Z"}

A party signs those bytes with SM2 (GB/T 32918.2, the default user id
``1234567812345678``, over SM3). The leaf of a proof is ``SM3(0x00 || L)`` where ``L`` is
RFC 8785 JSON of ``{"v":1, "statement":<the statement>, "signatures":[...]}``, each
signature ``{"party", "key" (hex 04||x||y), "signature" (hex DER), "signed_at"}``, sorted
by party then key: the anchored leaf binds the document's digests, the parties, each
signature and when the service received it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from compliance._wire import canonical_json, format_utc, parse_utc
from compliance.credit_code import is_valid_credit_code
from compliance.errors import MalformedEvidence
from crypto import merkle, sm2
from crypto.errors import CryptoError
from crypto.sm3 import sm3

STATEMENT_TYPE = "tracechain/evidence-statement"
KINDS = ("contract", "agreement", "quality_report", "recall_notice", "other")
DIGESTS = ("sm3", "sha256")
LINK_TYPES = ("organisation", "product", "batch", "channel_authorisation", "epcis_event")
USER_ID = sm2.DEFAULT_USER_ID

_HEX32 = re.compile(r"[0-9a-f]{64}")
_HEX = re.compile(r"(?:[0-9a-f]{2})+")


@dataclass(frozen=True, slots=True)
class Party:
    """One party to a proof; ``required`` parties must sign before it is complete."""

    ref: str
    name: str
    uscc: str | None = None
    organisation: str | None = None
    required: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "ref": self.ref,
            "name": self.name,
            "uscc": self.uscc,
            "organisation": self.organisation,
            "required": self.required,
        }


@dataclass(frozen=True, slots=True)
class Statement:
    """What a proof states: which document (by digests), what it is, who are its parties."""

    tenant: str
    evidence_id: str
    title: str
    kind: str
    digests: Mapping[str, str]
    size: int | None
    parties: tuple[Party, ...]
    links: tuple[tuple[str, str], ...]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "v": 1,
            "type": STATEMENT_TYPE,
            "tenant": self.tenant,
            "id": self.evidence_id,
            "title": self.title,
            "kind": self.kind,
            "digests": dict(self.digests),
            "size": self.size,
            "parties": [party.to_json() for party in self.parties],
            "links": [{"type": t, "id": i} for t, i in self.links],
            "created_at": format_utc(self.created_at),
        }

    def canonical_bytes(self) -> bytes:
        """The bytes every party signs."""
        return canonical_json(self.to_json())

    def party(self, ref: str) -> Party | None:
        return next((p for p in self.parties if p.ref == ref), None)


@dataclass(frozen=True, slots=True)
class Signature:
    """A party's SM2 signature over the statement, with the key it verifies under."""

    party: str
    public_key: str  # hex of 04 || x || y
    signature: str  # hex of the DER signature
    signed_at: datetime  # when the service received and checked it

    def to_json(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "key": self.public_key,
            "signature": self.signature,
            "signed_at": format_utc(self.signed_at),
        }


def sign_statement(private_key: sm2.PrivateKey, statement: Statement | bytes) -> bytes:
    """A party's DER signature over the statement's canonical bytes."""
    message = statement.canonical_bytes() if isinstance(statement, Statement) else statement
    return private_key.sign(message, USER_ID)


def signature_holds(public_key_hex: str, signature_hex: str, message: bytes) -> bool:
    """Whether the hex DER signature verifies over ``message`` under the hex public key."""
    try:
        key = sm2.PublicKey.from_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), message, USER_ID)
    except (CryptoError, ValueError):
        return False
    return True


def key_fingerprint(public_key_hex: str) -> str:
    """SM3 (hex) of a public key's 65 bytes: how a key is named in lists and certificates."""
    return sm3(bytes.fromhex(public_key_hex)).hex()


def leaf_bytes(statement: Statement, signatures: Iterable[Signature]) -> bytes:
    """The bytes under the proof's Merkle leaf."""
    ordered = sorted(signatures, key=lambda s: (s.party, s.public_key))
    return canonical_json(
        {"v": 1, "statement": statement.to_json(), "signatures": [s.to_json() for s in ordered]}
    )


def leaf_hash(statement: Statement, signatures: Iterable[Signature]) -> bytes:
    """The proof's Merkle leaf: ``SM3(0x00 || leaf_bytes)``."""
    return merkle.leaf_hash(leaf_bytes(statement, signatures), "sm3")


def _text(value: Any, where: str, *, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedEvidence(f"{where} must be a non-empty string")
    return value


def _exact_keys(value: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedEvidence(f"{where} must be an object")
    if set(value) != keys:
        missing, extra = sorted(keys - set(value)), sorted(set(value) - keys)
        raise MalformedEvidence(f"{where}: missing {missing}, unexpected {extra}")
    return value


def statement_from_json(value: Any) -> Statement:
    """Read a statement back, strictly: MalformedEvidence names the first field that is off."""
    keys = {"v", "type", "tenant", "id", "title", "kind", "digests", "size", "parties"}
    data = _exact_keys(value, keys | {"links", "created_at"}, "statement")
    if type(data["v"]) is not int or data["v"] != 1 or data["type"] != STATEMENT_TYPE:
        raise MalformedEvidence(f"statement: not a version 1 {STATEMENT_TYPE}")
    if data["kind"] not in KINDS:
        raise MalformedEvidence(f"statement.kind must be one of {', '.join(KINDS)}")
    digests = data["digests"]
    if not isinstance(digests, dict) or not digests or not set(digests) <= set(DIGESTS):
        raise MalformedEvidence("statement.digests must hold sm3 and/or sha256")
    for name, digest in digests.items():
        if not isinstance(digest, str) or _HEX32.fullmatch(digest) is None:
            raise MalformedEvidence(f"statement.digests.{name} must be 64 lowercase hex digits")
    size = data["size"]
    if size is not None and (type(size) is not int or size < 0):
        raise MalformedEvidence("statement.size must be a byte count or null")
    if not isinstance(data["parties"], list) or not isinstance(data["links"], list):
        raise MalformedEvidence("statement.parties and statement.links must be arrays")
    parties = []
    for n, item in enumerate(data["parties"]):
        where = f"statement.parties[{n}]"
        p = _exact_keys(item, {"ref", "name", "uscc", "organisation", "required"}, where)
        if not isinstance(p["required"], bool):
            raise MalformedEvidence(f"{where}.required must be true or false")
        uscc = _text(p["uscc"], f"{where}.uscc", optional=True)
        if uscc is not None and not is_valid_credit_code(uscc):
            raise MalformedEvidence(f"{where}.uscc is not a unified social credit code")
        parties.append(
            Party(
                _text(p["ref"], f"{where}.ref"),
                _text(p["name"], f"{where}.name"),
                uscc,
                _text(p["organisation"], f"{where}.organisation", optional=True),
                p["required"],
            )
        )
    if len({p.ref for p in parties}) != len(parties):
        raise MalformedEvidence("statement.parties name a party twice")
    links = []
    for n, item in enumerate(data["links"]):
        link = _exact_keys(item, {"type", "id"}, f"statement.links[{n}]")
        if link["type"] not in LINK_TYPES:
            raise MalformedEvidence(f"statement.links[{n}].type must be one of {LINK_TYPES}")
        links.append((link["type"], _text(link["id"], f"statement.links[{n}].id")))
    try:
        created_at = parse_utc(data["created_at"])
    except ValueError as exc:
        raise MalformedEvidence(f"statement.created_at: {exc}") from None
    return Statement(
        tenant=_text(data["tenant"], "statement.tenant"),
        evidence_id=_text(data["id"], "statement.id"),
        title=_text(data["title"], "statement.title"),
        kind=data["kind"],
        digests=dict(digests),
        size=size,
        parties=tuple(parties),
        links=tuple(links),
        created_at=created_at,
    )


def signature_from_json(value: Any, where: str) -> Signature:
    """Read one signature back, strictly (hex forms checked, not the signature itself)."""
    data = _exact_keys(value, {"party", "key", "signature", "signed_at"}, where)
    for name in ("key", "signature"):
        if not isinstance(data[name], str) or _HEX.fullmatch(data[name]) is None:
            raise MalformedEvidence(f"{where}.{name} must be lowercase hex")
    try:
        signed_at = parse_utc(data["signed_at"])
    except ValueError as exc:
        raise MalformedEvidence(f"{where}.signed_at: {exc}") from None
    return Signature(
        _text(data["party"], f"{where}.party"), data["key"], data["signature"], signed_at
    )
