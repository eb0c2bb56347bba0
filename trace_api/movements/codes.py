"""Reading the codes a scanner or a caller gives: serials, Digital Links, EPC URNs, SSCCs.

Every accepted form becomes the canonical key the EPCIS index and the movements use
(trace_api/epcis/identifiers.py): ``https://id.gs1.org/01/{gtin14}/21/{serial}`` for an
item, ``https://id.gs1.org/00/{sscc}`` for a case or pallet.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.errors import InvalidSerial
from crypto.serials import validate_serial
from trace_api.epcis import identifiers
from trace_api.errors import InvalidInput
from trace_api.models import Batch, Code, CodeIssuance, Product
from trace_api.movements.channel_view import chunks
from trace_api.movements.steps import ITEM_PREFIX, SSCC_PREFIX

_DIGITS18 = re.compile(r"[0-9]{18}")  # ASCII only: \d also matches other scripts


def _uri_key(text: str) -> str | None:
    key = identifiers.canonical(text)
    if key.startswith(SSCC_PREFIX):
        return key
    if key.startswith(ITEM_PREFIX) and "/21/" in key:
        return key
    return None


def keys_of(
    session: Session, tenant_id: str, codes: Sequence[str], *, what: str = "codes"
) -> list[str]:
    """The canonical keys of ``codes``; InvalidInput naming the first that is not a code.

    A bare serial must be one of the tenant's codes (its GTIN comes from its batch).
    """
    keys: list[str | None] = []
    serials: dict[str, list[int]] = {}
    for position, text in enumerate(codes):
        value = text.strip()
        if not value:
            raise InvalidInput(f"{what}[{position}] is empty")
        if _DIGITS18.fullmatch(value):
            keys.append(identifiers.sscc_key(value))
        elif value.startswith(("urn:", "http://", "https://")):
            key = _uri_key(value)
            if key is None:
                raise InvalidInput(
                    f"{what}[{position}] ({value}) is neither a serialised item (SGTIN, "
                    "Digital Link with AI 21) nor an SSCC"
                )
            keys.append(key)
        else:
            try:
                serial = validate_serial(value)
            except InvalidSerial as exc:
                raise InvalidInput(
                    f"{what}[{position}] ({value}) is not a code: give a serial, a Digital "
                    f"Link, an EPC URN or an 18-digit SSCC ({exc})"
                ) from None
            serials.setdefault(serial, []).append(position)
            keys.append(None)
    for chunk in chunks(serials):
        rows = session.execute(
            select(Code.serial, Product.gtin)
            .join(CodeIssuance, CodeIssuance.id == Code.issuance_id)
            .join(Batch, Batch.id == CodeIssuance.batch_id)
            .join(Product, Product.id == Batch.product_id)
            .where(Code.serial.in_(chunk), CodeIssuance.tenant_id == tenant_id)
        )
        for serial, gtin in rows:
            for position in serials.pop(serial):
                keys[position] = f"{ITEM_PREFIX}{gtin}/21/{quote(serial, safe='')}"
    if serials:
        serial, positions = next(iter(serials.items()))
        raise InvalidInput(f"{what}[{positions[0]}] ({serial}) is not a code of this tenant")
    return [k for k in keys if k is not None]


def key_of(session: Session, tenant_id: str, code: str) -> str:
    """The canonical key of one code (see `keys_of`)."""
    return keys_of(session, tenant_id, [code], what="code")[0]
