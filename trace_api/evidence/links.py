"""What a proof may be about: objects of the tenant, each named by a link type and an id.

- ``organisation``, ``product``, ``batch``: the row's id.
- ``channel_authorisation``: what a distribution agreement authorises a party for, in
  the channel configuration (docs/channels.md): a territory,
  ``territory:<organisation id>:<GB/T 2260 code>``; a product scope,
  ``scope:<organisation id>:<GTIN-14 or group:<name>>``; or a cross-edge (a sanctioned
  channel step outside the tree), ``cross-edge:<edge id>``. Allocations of goods are not
  authorisations and cannot be linked.
- ``epcis_event``: a captured event, given by its eventID or as ``sha256:<hex>`` (its
  digest as the audit log's ``epcis.event_captured`` entry names it); stored and signed
  in the ``sha256:`` form, which names one event exactly (an error declaration shares
  its event's eventID) and is short whatever the eventID's length.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trace_api.errors import InvalidInput
from trace_api.models import (
    Batch,
    ChannelCrossEdge,
    ChannelProductScope,
    ChannelTerritory,
    EpcisEvent,
    Organisation,
    Product,
)

_ROWS: dict[str, Any] = {"organisation": Organisation, "product": Product, "batch": Batch}
_EVENT_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")


def checked(session: Session, tenant_id: str, link_type: str, object_id: str, where: str) -> str:
    """The link's id as stored, once the tenant is found to own the object; InvalidInput
    (naming ``where``) otherwise, another tenant's objects included."""
    found = stored_id(session, tenant_id, link_type, object_id)
    if found is None:
        raise InvalidInput(f"{where}: the tenant has no {link_type} {object_id!r}")
    return found


def stored_id(session: Session, tenant_id: str, link_type: str, object_id: str) -> str | None:
    """The id a link to this object is stored under, or None when the tenant has no such
    object."""
    if link_type in _ROWS:
        record = session.get(_ROWS[link_type], object_id)
        return object_id if record is not None and record.tenant_id == tenant_id else None
    if link_type == "epcis_event":
        return _event(session, tenant_id, object_id)
    if link_type == "channel_authorisation":
        return object_id if _authorisation(session, tenant_id, object_id) else None
    return None


def search_id(session: Session, tenant_id: str, link_type: str, object_id: str) -> str | None:
    """The stored id to search links for: as given, but an EPCIS eventID found as its
    digest (None when no such event exists)."""
    if link_type == "epcis_event" and _EVENT_DIGEST.fullmatch(object_id) is None:
        return _event(session, tenant_id, object_id)
    return object_id


def _event(session: Session, tenant_id: str, given: str) -> str | None:
    query = select(EpcisEvent.digest).where(EpcisEvent.tenant_id == tenant_id)
    digest = _EVENT_DIGEST.fullmatch(given)
    if digest is not None:
        query = query.where(EpcisEvent.digest == bytes.fromhex(digest.group(1)))
    else:  # the event itself before its error declarations
        query = query.where(EpcisEvent.event_id == given).order_by(
            EpcisEvent.declared_at.is_not(None), EpcisEvent.id
        )
    found = session.scalar(query.limit(1))
    return None if found is None else "sha256:" + bytes(found).hex()


def _authorisation(session: Session, tenant_id: str, given: str) -> bool:
    kind, _, rest = given.partition(":")
    record: Any = None
    if kind == "territory":
        organisation, _, division = rest.partition(":")
        record = session.get(ChannelTerritory, (organisation, division))
    elif kind == "scope":
        organisation, _, scope = rest.partition(":")
        record = session.get(ChannelProductScope, (organisation, scope))
    elif kind == "cross-edge":
        record = session.get(ChannelCrossEdge, rest)
    return record is not None and record.tenant_id == tenant_id
