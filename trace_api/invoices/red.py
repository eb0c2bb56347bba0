"""Red-letter invoices (红字发票): a blue invoice taken back, whole or by line and quantity.

A red invoice copies the blue one's parties and, for each line taken back, its item, code,
rate and price with the quantity negative; its figures are computed like any line's. What
all red invoices of a blue one take back never exceeds it, line by line (quantity, amount
and tax) and in total: the blue invoice is locked for the rest of the transaction first,
so red invoices asked for at once are taken one after the other and each sees what the
one before left. Each red line takes the blue line's figures for all that
will then have been taken back, less those for what had been: the parts add up to the
whole to the fen however the line is split (docs/invoices.md).

Reasons: 01 开票有误 (an error: the whole invoice only), 02 销货退回, 03 服务中止, 04 销售折让
(whole or in part). A line followed by a discount line is taken back whole or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from compliance.errors import InvalidInvoice
from compliance.invoice.document import RED_REASONS, RedLetter
from compliance.invoice.lines import Line, LineInput, compute_line, compute_lines
from compliance.invoice.money import plain, quantity_of
from compliance.invoice.rates import tax_rate
from compliance.invoice.xml import read_xml
from trace_api.errors import Conflict, InvalidInput, NotFound
from trace_api.invoices.service import NORMAL_STATUS, fen, store
from trace_api.invoices.views import yuan_text
from trace_api.models import Invoice, InvoiceLine, InvoiceProfile, Organisation

FULL_ONLY = {"01"}
PARTLY = "partly_reversed"  # 部分红冲
WHOLLY = "reversed"  # 全额红冲


@dataclass(frozen=True)
class Taking:
    """A blue line to take back: its position and how much of its quantity (None: all
    that is left of it)."""

    position: int
    quantity: Decimal | None = None


def locked_blue(session: Session, tenant_id: str, number: str) -> Invoice:
    """The blue invoice, locked for the rest of the transaction (a no-op UPDATE takes its
    row lock on PostgreSQL and the write lock on SQLite)."""
    touched = session.execute(
        update(Invoice)
        .where(Invoice.tenant_id == tenant_id, Invoice.number == number)
        .values(status=Invoice.status)
        .execution_options(synchronize_session=False)
    )
    row = session.scalar(
        select(Invoice)
        .where(Invoice.tenant_id == tenant_id, Invoice.number == number)
        .execution_options(populate_existing=True)
    )
    if not touched.rowcount or row is None:  # type: ignore[attr-defined]
        raise NotFound(f"no invoice {number}")
    if row.colour != "blue":
        raise InvalidInput(f"invoice {number} is red: only a blue invoice is taken back")
    return row


def check_reason(reason: str, takings: Sequence[Taking] | None) -> None:
    if reason not in RED_REASONS:
        raise InvalidInput(f"reason is one of {', '.join(RED_REASONS)}")
    if reason in FULL_ONLY and takings is not None:
        raise InvalidInput(f"reason {reason} ({RED_REASONS[reason]}) takes the whole invoice back")


def issue_red(
    *,
    session: Session,
    blue: Invoice,
    actor: str,
    reason: str,
    takings: Sequence[Taking] | None,
    confirmation: str | None = None,
) -> Invoice:
    """The red invoice taking back ``takings`` of the locked ``blue`` (None: all that is
    left), recorded against it."""
    check_reason(reason, takings)
    if blue.status == WHOLLY:
        raise Conflict(f"invoice {blue.number} is taken back whole already")
    if reason in FULL_ONLY and blue.status != NORMAL_STATUS:
        raise InvalidInput(
            f"reason {reason} ({RED_REASONS[reason]}) takes the whole invoice back, and part "
            f"of {blue.number} was taken back already: give 02, 03 or 04"
        )
    lines = list(
        session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.invoice_id == blue.id)
            .order_by(InvoiceLine.position)
        )
    )
    chosen = _chosen(lines, takings)
    entered = [_red_line(line, quantity) for line, quantity in chosen]
    try:
        computed = list(compute_lines(entered, red=True))
    except InvalidInvoice as exc:
        raise InvalidInput(str(exc)) from None
    for n, ((line, quantity), red) in enumerate(zip(chosen, computed, strict=True)):
        computed[n] = _taken(line, quantity, red)
    total = sum(fen(red.amount) + fen(red.tax) for red in computed)
    if total == 0:
        raise InvalidInput("these lines take back nothing: their figures round to 0.00")
    if blue.reversed_fen + total < -blue.total_fen:
        raise Conflict(
            f"invoice {blue.number} has {yuan_text(blue.total_fen + blue.reversed_fen)} left"
        )
    issued = read_xml(bytes(blue.xml)).invoice
    seller_org = session.get(Organisation, blue.seller_org_id)
    profile = session.get(InvoiceProfile, blue.seller_org_id)
    if seller_org is None or profile is None:
        raise Conflict(f"the seller of invoice {blue.number} has no invoice profile now")
    red_row = store(
        session=session,
        tenant_id=blue.tenant_id,
        actor=actor,
        kind=blue.kind,
        seller_org=seller_org,
        profile=profile,
        buyer_org=blue.buyer_org_id,
        seller=issued.seller,
        buyer=issued.buyer,
        lines=computed,
        sources=[
            {"product_id": line.product_id, "original_position": line.position}
            for line, _ in chosen
        ],
        drawer=issued.drawer,
        remark=f"被红冲蓝字数电票号码：{blue.number}"
        + (f" 红字发票信息确认单编号：{confirmation}" if confirmation else ""),
        red=RedLetter(blue.number, reason, confirmation),
        original=blue,
    )
    for (line, quantity), red in zip(chosen, computed, strict=True):
        line.reversed_quantity = plain(Decimal(line.reversed_quantity) + (quantity or 0))
        line.reversed_amount_fen += fen(red.amount)
        line.reversed_tax_fen += fen(red.tax)
    blue.reversed_fen += total
    blue.status = WHOLLY if not any(_left_of(line) for line in lines) else PARTLY
    session.flush()
    return red_row


def _chosen(
    lines: list[InvoiceLine], takings: Sequence[Taking] | None
) -> list[tuple[InvoiceLine, Decimal | None]]:
    """(blue line, quantity taken or None for a discount line) for each line taken back."""
    if takings is None:  # what is left of every line
        left = [line for line in lines if _left_of(line)]
        if not left:
            raise Conflict("nothing of this invoice is left to take back")
        return [(line, None if line.discount else _remaining(line)) for line in left]
    by_position = {line.position: line for line in lines}
    chosen: list[tuple[InvoiceLine, Decimal | None]] = []
    seen: set[int] = set()
    for n, taking in enumerate(takings):
        line = by_position.get(taking.position)
        if line is None or line.discount:
            raise InvalidInput(
                f"lines[{n}]: the invoice has no line {taking.position} to take back"
            )
        if taking.position in seen:
            raise InvalidInput(f"lines[{n}]: line {taking.position} is named twice")
        seen.add(taking.position)
        remaining = _remaining(line)
        quantity = remaining if taking.quantity is None else taking.quantity
        if quantity <= 0:
            raise InvalidInput(f"lines[{n}].quantity must be positive")
        if quantity > remaining:
            raise Conflict(f"line {line.position} has {plain(remaining)} left to take back")
        chosen.append((line, quantity))
        discount = by_position.get(line.position + 1)
        if discount is not None and discount.discount:
            if quantity != Decimal(line.quantity or 0):
                raise InvalidInput(
                    f"lines[{n}]: line {line.position} has a discount: it is taken back whole"
                )
            chosen.append((discount, None))
    return chosen


def _remaining(line: InvoiceLine) -> Decimal:
    return Decimal(line.quantity or 0) - Decimal(line.reversed_quantity)


def _left_of(line: InvoiceLine) -> bool:
    """Whether red invoices may still take back some of the line: quantity for a line,
    money for a discount line."""
    if not line.discount:
        return _remaining(line) > 0
    return (
        line.amount_fen + line.reversed_amount_fen != 0 or line.tax_fen + line.reversed_tax_fen != 0
    )


def _red_line(line: InvoiceLine, quantity: Decimal | None) -> LineInput:
    rate = tax_rate(line.rate)
    if line.discount:
        left = line.amount_fen + line.reversed_amount_fen + line.tax_fen + line.reversed_tax_fen
        gross = (
            Decimal(-left).scaleb(-2)
            if line.price_includes_tax
            else Decimal(-(line.amount_fen + line.reversed_amount_fen)).scaleb(-2)
        )
        return LineInput(line.name, line.tax_code, rate, price_includes_tax=line.price_includes_tax,
                         discount=True, amount=gross)  # fmt: skip
    assert quantity is not None and line.unit_price is not None
    return LineInput(
        line.name,
        line.tax_code,
        rate,
        quantity=-quantity,
        unit_price=quantity_of(line.unit_price, "unit_price"),
        price_includes_tax=line.price_includes_tax,
    )


def _figures(line: InvoiceLine, quantity: Decimal) -> tuple[int, int]:
    """(amount, tax) in fen of ``quantity`` of the blue line, by the line's own formula."""
    if quantity == 0:
        return 0, 0
    assert line.unit_price is not None
    amount, tax = compute_line(
        LineInput(line.name, line.tax_code, tax_rate(line.rate), quantity=quantity,
                  unit_price=Decimal(line.unit_price),
                  price_includes_tax=line.price_includes_tax)
    )  # fmt: skip
    return fen(amount), fen(tax)


def _taken(line: InvoiceLine, quantity: Decimal | None, red: Line) -> Line:
    """``red`` with what it takes back: the line's figures for all that red invoices will
    then have taken, less those for what they had taken. The parts of a line so add up to
    the whole to the fen however it is split, and each part is within a fen or two of
    what its own quantity would give (docs/invoices.md)."""
    if quantity is None:  # a discount line, taken back with its line: what is left of it
        amount = line.amount_fen + line.reversed_amount_fen
        tax = line.tax_fen + line.reversed_tax_fen
    else:
        before = Decimal(line.reversed_quantity)
        after_amount, after_tax = _figures(line, before + quantity)
        before_amount, before_tax = _figures(line, before)
        amount, tax = after_amount - before_amount, after_tax - before_tax
    if amount > line.amount_fen + line.reversed_amount_fen or tax > (
        line.tax_fen + line.reversed_tax_fen
    ):  # cannot happen: rounding is monotone in the quantity
        raise Conflict(f"line {line.position} has not that much left to take back")
    return Line(red.entered, -Decimal(amount).scaleb(-2), -Decimal(tax).scaleb(-2), red.discounted)
