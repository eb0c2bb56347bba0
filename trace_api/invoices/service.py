"""Issuing invoices: the parties and lines checked, the number taken, the XML rendered and
validated, the invoice stored with its digest and leaf, all in the caller's transaction.

Any refusal raises before anything is written; the number is taken last of the checks, so
a refused invoice takes none (and one that fails later gives its number back when the
transaction rolls back). Services never commit: the caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from compliance.errors import InvalidInvoice
from compliance.invoice.document import Invoice as InvoiceDocument
from compliance.invoice.document import InvoiceParty, RedLetter, check_parties
from compliance.invoice.lines import Line, LineInput, compute_lines
from compliance.invoice.money import amount_of, plain, quantity_of
from compliance.invoice.number import InvoiceNumber, province_of
from compliance.invoice.rates import tax_rate
from compliance.invoice.xml import render_xml
from crypto import merkle
from crypto.sm3 import sm3
from trace_api.audit import log as audit_log
from trace_api.errors import InvalidInput, NotFound
from trace_api.invoices import drafts
from trace_api.invoices.numbering import invoice_year, next_sequence
from trace_api.invoices.schemas import BuyerIn, InvoiceIssue, LineIn
from trace_api.models import Invoice, InvoiceLine, InvoiceProfile, Organisation, Product, utcnow
from trace_api.owned import get_owned

ISSUED = "invoice.issued"
NORMAL_STATUS = "normal"  # 正常
ISSUED_RED = "issued"  # a red invoice's only status


def fen(amount: Decimal) -> int:
    return int(amount * 100)


def issue(*, session: Session, tenant_id: str, actor: str, request: InvoiceIssue) -> Invoice:
    """Issue a blue invoice as ``request`` enters it."""
    wanted = [request.seller]
    if request.buyer.organisation_id is not None:
        wanted.append(request.buyer.organisation_id)
    found = _organisations(session, tenant_id, wanted)
    seller_org, profile = found[request.seller]
    if profile is None:
        raise InvalidInput(
            f"seller {seller_org.id} has no invoice profile: set its division code first "
            f"(PUT /v1/organisations/{seller_org.id}/invoice-profile)"
        )
    seller = _party_of(seller_org, profile)
    buyer_org, buyer = _buyer(request.buyer, found)
    entered = [_entered(session, tenant_id, line, n) for n, line in enumerate(request.lines)]
    try:
        check_parties(request.kind, seller, buyer)
        lines = compute_lines(entered)
    except InvalidInvoice as exc:
        raise InvalidInput(str(exc)) from None
    shipments = drafts.shipment_keys(session, tenant_id, request.shipments)
    row = store(
        session=session,
        tenant_id=tenant_id,
        actor=actor,
        kind=request.kind,
        seller_org=seller_org,
        profile=profile,
        buyer_org=buyer_org,
        seller=seller,
        buyer=buyer,
        lines=lines,
        sources=[{"product_id": line.product_id} for line in request.lines],
        drawer=request.drawer,
        remark=request.remark,
    )
    if shipments:
        drafts.record_shipments(session, tenant_id, row.id, list(shipments.values()))
    return row


def store(
    *,
    session: Session,
    tenant_id: str,
    actor: str,
    kind: str,
    seller_org: Organisation,
    profile: InvoiceProfile,
    buyer_org: str | None,
    seller: InvoiceParty,
    buyer: InvoiceParty,
    lines: Sequence[Line],
    sources: Sequence[dict[str, object]],
    drawer: str,
    remark: str,
    red: RedLetter | None = None,
    original: Invoice | None = None,
) -> Invoice:
    """Number, render and store an invoice whose lines are computed, and log it. The
    number is taken here, the last step that can wait on another issuer."""
    try:
        province = province_of(profile.division_code)
    except InvalidInvoice as exc:
        raise InvalidInput(str(exc)) from None
    issued_at = utcnow()
    year = invoice_year(issued_at)
    number = InvoiceNumber(year, province, profile.channel, next_sequence(session, tenant_id, year))
    document = InvoiceDocument(
        tenant=tenant_id,
        number=number,
        kind=kind,
        issued_at=issued_at,
        seller=seller,
        buyer=buyer,
        lines=tuple(lines),
        drawer=drawer,
        remark=remark,
        red=red,
    )
    try:
        xml = render_xml(document)
    except InvalidInvoice as exc:  # a figure past what the schema holds: the request's
        raise InvalidInput(str(exc)) from None
    digest = sm3(xml)  # rendered without TraceProof: compliance.invoice.xml.invoice_digest
    row = Invoice(
        tenant_id=tenant_id,
        number=str(number),
        year=year,
        sequence=number.sequence,
        kind=kind,
        colour="blue" if red is None else "red",
        status=NORMAL_STATUS if red is None else ISSUED_RED,
        original_id=original.id if original is not None else None,
        red_reason=red.reason if red is not None else None,
        issued_at=issued_at,
        issued_by=actor,
        seller_org_id=seller_org.id,
        buyer_org_id=buyer_org,
        buyer_name=buyer.name,
        buyer_credit_code=buyer.credit_code,
        amount_fen=fen(document.totals.amount),
        tax_fen=fen(document.totals.tax),
        total_fen=fen(document.total),
        reversed_fen=0,
        xml=xml,
        digest=digest,
        leaf_hash=merkle.leaf_hash(digest, "sm3"),
    )
    session.add(row)
    session.flush()
    session.execute(insert(InvoiceLine), _line_rows(row.id, lines, sources))
    data: dict[str, object] = {
        "invoice_id": row.id,
        "number": row.number,
        "kind": row.kind,
        "colour": row.colour,
        "digest_sm3": digest.hex(),
        "total": str(document.total),
        "tax": str(document.totals.tax),
    }
    if red is not None:
        data.update(original=red.original, reason=red.reason, confirmation=red.confirmation)
    audit_log.append(
        session=session,
        tenant_id=tenant_id,
        kind=ISSUED,
        actor=actor,
        organisation_id=buyer_org,
        data=data,
    )
    return row


def _party_of(org: Organisation, profile: InvoiceProfile | None) -> InvoiceParty:
    return InvoiceParty(
        name=org.name,
        credit_code=org.uscc,
        address=profile.address if profile else "",
        phone=profile.phone if profile else "",
        bank=profile.bank if profile else "",
        account=profile.account if profile else "",
    )


def _organisations(
    session: Session, tenant_id: str, ids: list[str]
) -> dict[str, tuple[Organisation, InvoiceProfile | None]]:
    """The tenant's organisations of ``ids`` with their profiles, in one query; NotFound
    for one the tenant does not have."""
    rows = session.execute(
        select(Organisation, InvoiceProfile)
        .outerjoin(InvoiceProfile, InvoiceProfile.organisation_id == Organisation.id)
        .where(Organisation.id.in_(ids), Organisation.tenant_id == tenant_id)
    )
    found: dict[str, tuple[Organisation, InvoiceProfile | None]] = {
        org.id: (org, profile) for org, profile in rows
    }
    for organisation_id in ids:
        if organisation_id not in found:
            raise NotFound(f"no organisation {organisation_id}")
    return found


def _buyer(
    given: BuyerIn, found: dict[str, tuple[Organisation, InvoiceProfile | None]]
) -> tuple[str | None, InvoiceParty]:
    if given.organisation_id is not None:
        org, profile = found[given.organisation_id]
        return org.id, _party_of(org, profile)
    assert given.name is not None  # the schema asks for one or the other
    return None, InvoiceParty(
        name=given.name,
        credit_code=given.credit_code,
        address=given.address,
        phone=given.phone,
        bank=given.bank,
        account=given.account,
        individual=given.individual,
    )


def _entered(session: Session, tenant_id: str, line: LineIn, n: int) -> LineInput:
    where = f"lines[{n}]"
    if line.product_id is not None:
        get_owned(
            session, Product, line.product_id, tenant_id=tenant_id, noun="product", missing=_Gone
        )
    try:
        return LineInput(
            name=line.name,
            tax_code=line.tax_code,
            rate=tax_rate(line.rate),
            quantity=None if line.quantity is None else quantity_of(line.quantity, where),
            unit_price=None if line.unit_price is None else quantity_of(line.unit_price, where),
            price_includes_tax=line.price_includes_tax,
            specification=line.specification,
            unit=line.unit,
            discount=line.discount,
            amount=None if line.amount is None else amount_of(line.amount, f"{where}.amount"),
        )
    except InvalidInvoice as exc:
        raise InvalidInput(f"{where}: {exc}") from None


class _Gone(NotFound):
    status = 422  # a line naming a product the tenant does not have is bad input


def _line_rows(
    invoice_id: str, lines: Sequence[Line], sources: Sequence[dict[str, object]]
) -> list[dict[str, object]]:
    return [
        {
            "invoice_id": invoice_id,
            "position": n,
            "original_position": source.get("original_position"),
            "product_id": source.get("product_id"),
            "name": line.entered.name,
            "tax_code": line.entered.tax_code,
            "rate": line.entered.rate.label,
            "discount": line.entered.discount,
            "quantity": None if line.entered.quantity is None else plain(line.entered.quantity),
            "unit_price": (
                None if line.entered.unit_price is None else plain(line.entered.unit_price)
            ),
            "price_includes_tax": line.entered.price_includes_tax,
            "amount_fen": fen(line.amount),
            "tax_fen": fen(line.tax),
            "reversed_quantity": "0",
            "reversed_amount_fen": 0,
            "reversed_tax_fen": 0,
        }
        for n, (line, source) in enumerate(zip(lines, sources, strict=True))
    ]
