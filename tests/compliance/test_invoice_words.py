"""大写 amounts, credit codes and invoice numbers: the library entry points."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from compliance.errors import InvalidInvoice
from compliance.invoice import amount_in_words, is_valid_credit_code
from compliance.invoice.number import InvoiceNumber, province_of


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("0.00", "零元整"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("1000", "壹仟元整"),
        ("0.50", "伍角"),  # jiao only: no 整 after 角, which the rules allow
        ("0.05", "伍分"),  # fen only
        ("10.50", "壹拾元伍角"),
        ("100.05", "壹佰元零伍分"),  # 零 between 元 and 分 when 角 is 0
        ("325.04", "叁佰贰拾伍元零肆分"),
        ("1001", "壹仟零壹元整"),  # zeros inside a group: one 零
        ("1010", "壹仟零壹拾元整"),
        ("10001", "壹万零壹元整"),  # across the 万 group
        ("100100", "壹拾万零壹佰元整"),
        ("1000010", "壹佰万零壹拾元整"),
        ("100000000", "壹亿元整"),
        ("100000001", "壹亿零壹元整"),  # across the 亿 group
        ("100010001.01", "壹亿零壹万零壹元零壹分"),
        ("123456789.12", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分"),
        ("-5.30", "负伍元叁角"),  # a red-letter invoice's total
        ("-100100", "负壹拾万零壹佰元整"),
        ("-0.00", "零元整"),  # minus zero is zero
        ("1.005", "壹元零壹分"),  # rounded half up to the fen first (cn2an would cut it)
        ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
    ],
)
def test_amount_in_words(amount: str, words: str) -> None:
    assert amount_in_words(Decimal(amount)) == words


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), Decimal("1e13"), 5, 5.0])
def test_amount_in_words_refuses_what_is_no_invoice_amount(bad: object) -> None:
    with pytest.raises(InvalidInvoice):
        amount_in_words(bad)  # type: ignore[arg-type]


_UNITS = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整负"


@given(st.decimals(min_value=-(10**11), max_value=10**11, places=2, allow_nan=False))
def test_any_amount_reads_in_capitals_only_and_its_sign_shows(amount: Decimal) -> None:
    words = amount_in_words(amount)
    assert set(words) <= set(_UNITS)
    assert words.startswith("负") == (amount < 0)
    assert words.endswith("整") == (amount == amount.to_integral_value())


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000100000000R", "91440300715267260N"])
def test_valid_credit_codes(code: str) -> None:
    assert is_valid_credit_code(code)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("91350100M000100Y4", "17 characters"),
        ("91350100M000100Y433", "19 characters"),
        ("91350100M000100Y44", "wrong check character"),
        ("91350100m000100y43", "lower case"),
        (" 91350100M000100Y43", "a space around it"),
        ("91350100M000100I43", "I is not in the alphabet"),
        ("91350100M000100O43", "O is not in the alphabet"),
        ("9135010OM000100Y43", "a letter in the division digits"),
        ("91350100M000100Y4３", "a full-width digit"),
        ("", "empty"),
    ],
)
def test_invalid_credit_codes(code: str, why: str) -> None:
    assert not is_valid_credit_code(code), why


def test_a_credit_code_is_a_string() -> None:
    assert not is_valid_credit_code(None)  # type: ignore[arg-type]


def test_an_invoice_number_reads_year_province_channel_and_sequence() -> None:
    number = InvoiceNumber(2026, "33", 2, 7)
    assert str(number) == "26332000000000000007"
    assert InvoiceNumber.parse("26332000000000000007") == number
    assert province_of("330106") == "33"


@pytest.mark.parametrize(
    "text",
    ["2633200000000000000", "263320000000000000071", "2699200000000000001x", "26992000000000000001",
     "26330000000000000000"],
)  # fmt: skip
def test_a_malformed_invoice_number_is_refused(text: str) -> None:
    with pytest.raises(InvalidInvoice):
        InvoiceNumber.parse(text)


@given(
    st.integers(2000, 2099),
    st.sampled_from(["11", "33", "44", "65"]),
    st.integers(0, 9),
    st.integers(1, 10**15 - 1),
)
def test_every_number_round_trips_as_20_digits(
    year: int, province: str, channel: int, sequence: int
) -> None:
    number = InvoiceNumber(year, province, channel, sequence)
    assert len(str(number)) == 20 and str(number).isdigit()
    assert InvoiceNumber.parse(str(number)) == number
