"""What each code's row holds and what its Merkle leaf commits to, byte for byte.

**Payload.** The plaintext sealed for each item is the RFC 8785 canonical JSON of::

    {"v":1, "tenant":<tenant id>, "batch":<batch id>, "gtin":<GTIN-14>, "product":<name>,
     "brand":<brand>, "lot":<lot>, "production_date":"YYYY-MM-DD", "expiry":"YYYY-MM-DD"|null,
     "factory":<factory>, "allocation":<object>|null, "item":<leaf index>, "serial":<serial>}

sealed with SM4-GCM under the tenant's active data key (`crypto.envelope`), the serial's
ASCII bytes as associated data, so a payload cannot be moved to another code.

**Leaf.** Leaf ``i`` of a batch's tree is ``SM3(0x00 || leaf_input)`` where ``leaf_input``
is the UTF-8 of the RFC 8785 canonical JSON::

    {"ct":<64 lowercase hex digits: SM3 of the stored sealed payload, envelope header
     included>, "gtin":<GTIN-14>, "lot":<lot>, "serial":<serial>, "v":1}

so the anchored root commits to each code and to the exact ciphertext stored for it.

Canonicalising costs about 9 µs per dict, more than sealing, so both are canonicalised
once per batch with sentinel values and split into templates; per item only the index,
serial and digest are put between the parts (none needs JSON escaping: digits, Crockford
base32 and hex). `tests/codes` checks the templates against `rfc8785` for random input.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import rfc8785

from crypto.merkle import leaf_hash
from crypto.sm3 import sm3

PAYLOAD_VERSION = 1
_ITEM = "\x00item\x00"
_SERIAL = "\x00serial\x00"
_DIGEST = "\x00ct\x00"


@dataclass(frozen=True)
class BatchFacts:
    """What every code of a batch shares."""

    tenant_id: str
    batch_id: str
    gtin: str
    product: str
    brand: str
    lot: str
    production_date: date
    expiry: date | None
    factory: str
    allocation: dict[str, Any] | None


@dataclass(frozen=True)
class Templates:
    """The canonical JSON of payload and leaf input, cut where the per-item values go."""

    payload: tuple[str, str, str]  # before item, between item and serial, after serial
    leaf: tuple[str, str, str]  # before digest, between digest and serial, after serial


def payload_document(facts: BatchFacts, item: int, serial: str) -> dict[str, Any]:
    """The payload of one item as a dict (what `payload_bytes` canonicalises)."""
    return {
        "v": PAYLOAD_VERSION,
        "tenant": facts.tenant_id,
        "batch": facts.batch_id,
        "gtin": facts.gtin,
        "product": facts.product,
        "brand": facts.brand,
        "lot": facts.lot,
        "production_date": facts.production_date.isoformat(),
        "expiry": facts.expiry.isoformat() if facts.expiry else None,
        "factory": facts.factory,
        "allocation": facts.allocation,
        "item": item,
        "serial": serial,
    }


def leaf_document(gtin: str, lot: str, serial: str, digest_hex: str) -> dict[str, Any]:
    """The leaf input of one code as a dict (what `leaf_input` canonicalises)."""
    return {"ct": digest_hex, "gtin": gtin, "lot": lot, "serial": serial, "v": PAYLOAD_VERSION}


def templates(facts: BatchFacts) -> Templates:
    """Canonicalise once per batch; see the module docstring."""
    doc = payload_document(facts, 0, _SERIAL)
    doc["item"] = _ITEM
    payload = _split(rfc8785.dumps(doc).decode(), _ITEM, _SERIAL)
    return Templates(payload=payload, leaf=leaf_template(facts.gtin, facts.lot))


def _split(text: str, first: str, second: str) -> tuple[str, str, str]:
    """Cut ``text`` around the quoted sentinels; string slots keep their quotes in the parts."""
    a, b = (rfc8785.dumps(s).decode() for s in (first, second))
    head, found_a, rest = text.partition(a)
    middle, found_b, tail = rest.partition(b)
    if not found_a or not found_b or a in tail or b in tail or b in head:
        raise ValueError("template sentinels must appear once each, in order")
    if first == _ITEM:  # a number: no quotes around it
        return head, middle + '"', '"' + tail
    return head + '"', '"' + middle + '"', '"' + tail


def payload_bytes(parts: tuple[str, str, str], item: int, serial: str) -> bytes:
    """The canonical payload of one item from the batch's template."""
    return f"{parts[0]}{item}{parts[1]}{serial}{parts[2]}".encode()


def leaf_input(parts: tuple[str, str, str], sealed: bytes, serial: str) -> bytes:
    """The canonical leaf input of one code from the batch's template."""
    return f"{parts[0]}{sm3(sealed).hex()}{parts[1]}{serial}{parts[2]}".encode()


def code_leaf_hash(parts: tuple[str, str, str], sealed: bytes, serial: str) -> bytes:
    """``SM3(0x00 || leaf_input)``: the code's leaf in its batch's tree."""
    return leaf_hash(leaf_input(parts, sealed, serial))


@lru_cache(maxsize=4096)
def leaf_template(gtin: str, lot: str) -> tuple[str, str, str]:
    """The leaf input template of a batch from its GTIN and lot alone (what resolvers need)."""
    document = rfc8785.dumps(leaf_document(gtin, lot, _SERIAL, _DIGEST)).decode()
    return _split(document, _DIGEST, _SERIAL)
