"""Invoice lines and totals: exact to the fen, discount pairs, and every line rule."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.errors import InvalidInvoice
from compliance.invoice.lines import LineInput, compute_lines, sum_lines
from compliance.invoice.rates import RATES, tax_rate

WINE = "1030303000000000000"
PREPAID = "6010000000000000000"  # category 6: 不征税


def _line(**given: object) -> LineInput:
    fields: dict[str, object] = {
        "name": "*酒*白酒",
        "tax_code": WINE,
        "rate": tax_rate("13%"),
        "quantity": Decimal("2"),
        "unit_price": Decimal("100"),
    }
    fields.update(given)
    return LineInput(**fields)  # type: ignore[arg-type]


def test_a_price_without_tax_adds_its_tax() -> None:
    [line] = compute_lines([_line(quantity=Decimal("3"), unit_price=Decimal("33.333"))])
    assert (line.amount, line.tax, line.total) == (
        Decimal("100.00"),  # 99.999 rounded half up
        Decimal("13.00"),
        Decimal("113.00"),
    )


def test_a_price_with_tax_splits_its_gross_and_keeps_it() -> None:
    [line] = compute_lines([_line(quantity=Decimal("10"), unit_price=Decimal("99.9"),
                                  price_includes_tax=True)])  # fmt: skip
    assert line.total == Decimal("999.00")  # what the buyer pays is what was entered
    assert (line.amount, line.tax) == (Decimal("884.07"), Decimal("114.93"))


def test_a_discount_line_follows_its_line_and_reduces_it() -> None:
    lines = compute_lines(
        [
            _line(price_includes_tax=True, quantity=Decimal("10"), unit_price=Decimal("99.9")),
            _line(price_includes_tax=True, quantity=None, unit_price=None, discount=True,
                  amount=Decimal("-50.00")),
        ]
    )  # fmt: skip
    assert lines[0].discounted and not lines[1].discounted
    assert (lines[1].amount, lines[1].tax, lines[1].total) == (
        Decimal("-44.25"),
        Decimal("-5.75"),
        Decimal("-50.00"),
    )
    assert sum_lines(lines).total == Decimal("949.00")


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ([_line(name="白酒")], "*简称*名称"),
        ([_line(name="*酒*")], "*简称*名称"),
        ([_line(tax_code="103030300000000000")], "19-digit"),
        ([_line(tax_code=PREPAID)], "category 6"),
        ([_line(tax_code=PREPAID, rate=tax_rate("免税"))], "category 6"),
        ([_line(rate=tax_rate("不征税"))], "category 6"),
        ([_line(quantity=Decimal("0"))], "positive"),
        ([_line(quantity=Decimal("-1"))], "positive"),
        ([_line(unit_price=Decimal("-1"))], "negative"),
        ([_line(quantity=Decimal("1.12345678901234"))], "13 decimals"),
        ([_line(quantity=Decimal("123456789012345678"))], "17 characters"),
        ([_line(quantity=None)], "quantity and unit price"),
        ([_line(amount=Decimal("5"))], "computed"),
        ([_line(discount=True, quantity=None, unit_price=None, amount=Decimal("-1"))],
         "follows the line"),
        ([_line(), _line(discount=True, quantity=None, unit_price=None, amount=Decimal("1"))],
         "negative"),
        ([_line(), _line(discount=True, quantity=None, unit_price=None, amount=Decimal("-201"))],
         "at most the line"),
        ([_line(), _line(discount=True, quantity=None, unit_price=None, amount=Decimal("-1.001"))],
         "two decimals"),
        ([_line(), _line(discount=True, name="*酒*啤酒", quantity=None, unit_price=None,
                         amount=Decimal("-1"))], "name, code and rate"),
        ([_line(), _line(discount=True, rate=tax_rate("9%"), quantity=None, unit_price=None,
                         amount=Decimal("-1"))], "name, code and rate"),
        ([_line(quantity=Decimal("1"), unit_price=Decimal("999999999999999"))], "beyond"),
        ([_line(quantity=Decimal("1"), unit_price=Decimal("999999999999"),
                price_includes_tax=False)],
         "total with tax"),
        ([], "at least one line"),
    ],
)  # fmt: skip
def test_a_line_breaking_a_rule_is_refused_saying_which(lines: list[LineInput], says: str) -> None:
    with pytest.raises(InvalidInvoice, match=re.escape(says)):
        compute_lines(lines)


def test_non_taxable_and_exempt_lines_carry_no_tax() -> None:
    lines = compute_lines(
        [
            _line(tax_code=PREPAID, rate=tax_rate("不征税")),
            _line(rate=tax_rate("免税"), price_includes_tax=True),
        ]
    )
    assert [line.tax for line in lines] == [Decimal("0.00"), Decimal("0.00")]
    assert [line.amount for line in lines] == [Decimal("200.00"), Decimal("200.00")]


@pytest.mark.parametrize("name", ["13%", "9%", "6%", "5%", "3%", "1%", "0%", "免税", "不征税",
                                  "exempt", "non-taxable"])  # fmt: skip
def test_every_rate_of_the_rules_is_known(name: str) -> None:
    assert tax_rate(name).label in RATES


@pytest.mark.parametrize("name", ["12%", "0.13", "13", "", "免"])
def test_no_other_rate_is(name: str) -> None:
    with pytest.raises(InvalidInvoice):
        tax_rate(name)


_QUANTITIES = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(100000), places=3)
_PRICES = st.decimals(min_value=Decimal(0), max_value=Decimal(100000), places=6)
_RATES = st.sampled_from([r for r in RATES if r != "不征税"]).map(tax_rate)


@st.composite
def _lines(draw: st.DrawFn) -> list[LineInput]:
    lines: list[LineInput] = []
    for _ in range(draw(st.integers(1, 12))):
        line = _line(
            quantity=draw(_QUANTITIES),
            unit_price=draw(_PRICES),
            rate=draw(_RATES),
            price_includes_tax=draw(st.booleans()),
        )
        lines.append(line)
        gross = line.quantity * line.unit_price  # type: ignore[operator]
        if gross >= Decimal("0.02") and draw(st.booleans()):
            cut = draw(st.decimals(min_value=Decimal("0.01"), max_value=gross / 2, places=2))
            discount = _line(
                rate=line.rate,
                price_includes_tax=line.price_includes_tax,
                quantity=None,
                unit_price=None,
                discount=True,
                amount=-cut,
            )
            lines.append(discount)
    return lines


@given(_lines())
def test_the_total_with_tax_is_the_sum_of_the_lines_to_the_fen(entered: list[LineInput]) -> None:
    lines = compute_lines(entered)
    totals = sum_lines(lines)
    assert totals.total == sum((line.amount + line.tax for line in lines), Decimal(0))
    assert totals.amount == sum((line.amount for line in lines), Decimal(0))
    for line in lines:
        for figure in (line.amount, line.tax, line.total):
            assert figure == figure.quantize(Decimal("0.01"))  # whole fen, never a float
        if line.entered.price_includes_tax and not line.entered.discount:
            entered_gross = line.entered.quantity * line.entered.unit_price  # type: ignore[operator]
            assert line.total == entered_gross.quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
        elif not line.entered.price_includes_tax:
            assert line.tax == (line.amount * line.entered.rate.rate).quantize(
                Decimal("0.01"), rounding="ROUND_HALF_UP"
            )


@given(_lines())
def test_a_red_copy_of_every_line_is_the_exact_negative(entered: list[LineInput]) -> None:
    blue = [line for line in entered if not line.discount]
    red = [_line(quantity=-line.quantity, unit_price=line.unit_price, rate=line.rate,  # type: ignore[operator]
                 price_includes_tax=line.price_includes_tax) for line in blue]  # fmt: skip
    blue_totals = sum_lines(compute_lines(blue))
    red_totals = sum_lines(compute_lines(red, red=True))
    assert (red_totals.amount, red_totals.tax) == (-blue_totals.amount, -blue_totals.tax)
