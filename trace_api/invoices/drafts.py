"""Drafting an invoice from shipments, and how products are invoiced and priced.

A draft names the seller, the buyer (an organisation of the tenant) and EPCIS shipping
events to it; its lines are the products the events shipped to the buyer, one line per
product with the number of items shipped, each named and coded as the product's invoice
item says and priced from the price list of the buyer's channel (its organisation kind),
unless the draft gives a price. The draft is returned, not stored: the issuer reviews it
and issues it (POST /v1/invoices), which records its shipments so that none is invoiced
twice.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from compliance.errors import InvalidInvoice
from compliance.invoice.lines import ITEM_NAME, TAX_CODE
from compliance.invoice.money import quantity_of
from compliance.invoice.rates import tax_rate
from trace_api.audit import log as audit_log
from trace_api.errors import Conflict, InvalidInput
from trace_api.invoices.schemas import InvoiceIssue
from trace_api.models import (
    EpcisEvent,
    InvoiceItem,
    InvoicePrice,
    InvoiceShipment,
    ItemMovement,
    ItemState,
    Organisation,
    Product,
)
from trace_api.owned import get_owned

ITEM_SET = "invoice.item_set"
PRICE_SET = "invoice.price_set"
CHANNELS = ("brand", "distributor", "dealer", "retailer")


def set_item(
    *, session: Session, tenant_id: str, product_id: str, actor: str, name: str, tax_code: str,
    rate: str, unit: str = "", specification: str = "",
) -> InvoiceItem:  # fmt: skip
    """How the product is invoiced (checked as a line would be)."""
    get_owned(session, Product, product_id, tenant_id=tenant_id, noun="product")
    if ITEM_NAME.fullmatch(name) is None:
        raise InvalidInput("name must read *简称*名称 (e.g. *茶*西湖龙井)")
    if TAX_CODE.fullmatch(tax_code) is None:
        raise InvalidInput("tax_code must be the 19-digit tax classification code")
    try:
        tax_rate(rate)
    except InvalidInvoice as exc:
        raise InvalidInput(str(exc)) from None
    item = session.get(InvoiceItem, product_id)
    if item is None:
        item = InvoiceItem(product_id=product_id, tenant_id=tenant_id)
        session.add(item)
    item.name, item.tax_code, item.rate = name, tax_code, rate
    item.unit, item.specification = unit, specification
    session.flush()
    audit_log.append(
        session=session, tenant_id=tenant_id, kind=ITEM_SET, actor=actor,
        data={"product": product_id, "name": name, "tax_code": tax_code, "rate": rate},
    )  # fmt: skip
    return item


def set_price(
    *, session: Session, tenant_id: str, product_id: str, channel: str, actor: str,
    unit_price: str | int, price_includes_tax: bool,
) -> InvoicePrice:  # fmt: skip
    """The product's unit price for a channel."""
    get_owned(session, Product, product_id, tenant_id=tenant_id, noun="product")
    if channel not in CHANNELS:
        raise InvalidInput(f"a channel is one of {', '.join(CHANNELS)}")
    try:
        price = quantity_of(unit_price, "unit_price")
    except InvalidInvoice as exc:
        raise InvalidInput(str(exc)) from None
    if price < 0:
        raise InvalidInput("unit_price must not be negative")
    row = session.get(InvoicePrice, (product_id, channel))
    if row is None:
        row = InvoicePrice(product_id=product_id, channel=channel, tenant_id=tenant_id)
        session.add(row)
    row.unit_price, row.price_includes_tax = format(price, "f"), price_includes_tax
    session.flush()
    audit_log.append(
        session=session, tenant_id=tenant_id, kind=PRICE_SET, actor=actor,
        data={"product": product_id, "channel": channel, "unit_price": row.unit_price,
              "price_includes_tax": price_includes_tax},
    )  # fmt: skip
    return row


def shipment_keys(session: Session, tenant_id: str, event_ids: list[str]) -> dict[str, int]:
    """The stored key of each shipping event named by its eventID (InvalidInput if one is
    not the tenant's)."""
    found = dict(
        session.execute(
            select(EpcisEvent.event_id, EpcisEvent.id).where(
                EpcisEvent.tenant_id == tenant_id, EpcisEvent.event_id.in_(event_ids)
            )
        ).all()
    )
    missing = [e for e in event_ids if e not in found]
    if missing:
        raise InvalidInput(f"shipments: no EPCIS event {missing[0]}")
    return {event_id: int(found[event_id]) for event_id in event_ids}


def record_shipments(session: Session, tenant_id: str, invoice_id: str, keys: list[int]) -> None:
    """Mark the shipments invoiced by ``invoice_id`` (Conflict if one is already: the
    unique (tenant, event) key decides, also between two issues at once)."""
    try:
        with session.begin_nested():
            session.add_all(
                InvoiceShipment(invoice_id=invoice_id, event_pk=key, tenant_id=tenant_id)
                for key in keys
            )
            session.flush()
    except IntegrityError:
        raise Conflict("a shipment of this invoice is invoiced already") from None


def draft(
    *,
    session: Session,
    tenant_id: str,
    kind: str,
    seller: str,
    buyer: str,
    event_ids: list[str],
    prices: dict[str, str | int],
) -> InvoiceIssue:
    """An invoice body for the products ``event_ids`` shipped to ``buyer``."""
    buyer_org = get_owned(session, Organisation, buyer, tenant_id=tenant_id, noun="organisation")
    get_owned(session, Organisation, seller, tenant_id=tenant_id, noun="organisation")
    keys = shipment_keys(session, tenant_id, event_ids)
    invoiced = select(InvoiceShipment.event_pk).where(
        InvoiceShipment.tenant_id == tenant_id, InvoiceShipment.event_pk.in_(keys.values())
    )
    if session.scalar(invoiced.limit(1)) is not None:
        raise Conflict("a shipment named is invoiced already")
    shipped = select(ItemMovement.item).where(
        ItemMovement.tenant_id == tenant_id,
        ItemMovement.event_pk.in_(keys.values()),
        ItemMovement.step == "ship",
        ItemMovement.to_org == buyer,
    )
    counted = session.execute(
        select(ItemState.gtin, func.count())
        .where(
            ItemState.tenant_id == tenant_id,
            ItemState.kind == "item",
            ItemState.item.in_(shipped),
            ItemState.gtin.is_not(None),
        )
        .group_by(ItemState.gtin)
    )
    counts: dict[str, int] = {gtin: int(n) for gtin, n in counted if gtin is not None}
    if not counts:
        raise InvalidInput(f"these shipments carry no items to organisation {buyer}")
    products = {
        p.gtin: p
        for p in session.scalars(
            select(Product).where(Product.tenant_id == tenant_id, Product.gtin.in_(list(counts)))
        )
    }
    lines = []
    for gtin in sorted(counts):
        product = products.get(gtin)
        if product is None:
            raise InvalidInput(f"items of GTIN {gtin} were shipped, but no product has it")
        item = session.get(InvoiceItem, product.id)
        if item is None:
            raise InvalidInput(
                f"product {product.id} has no invoice item: "
                f"PUT /v1/products/{product.id}/invoice-item"
            )
        given = prices.get(product.id)
        if given is not None:  # a price given with the draft is with tax
            price, includes = str(given), True
        else:
            listed = session.get(InvoicePrice, (product.id, buyer_org.kind))
            if listed is None:
                raise InvalidInput(
                    f"product {product.id} has no price for the {buyer_org.kind} channel: give one"
                )
            price, includes = listed.unit_price, listed.price_includes_tax
        lines.append(
            {
                "name": item.name,
                "tax_code": item.tax_code,
                "rate": item.rate,
                "quantity": str(counts[gtin]),
                "unit_price": price,
                "price_includes_tax": includes,
                "specification": item.specification,
                "unit": item.unit,
                "product_id": product.id,
            }
        )
    return InvoiceIssue.model_validate(
        {
            "kind": kind,
            "seller": seller,
            "buyer": {"organisation_id": buyer},
            "lines": lines,
            "shipments": event_ids,
        }
    )
