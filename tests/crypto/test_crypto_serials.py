"""Serials: 80 random bits in Crockford base32, a Luhn mod 32 check character, GS1 AI 21 fit."""

import os
import string
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import InvalidSerial
from crypto.serials import (
    ALPHABET,
    SERIAL_LENGTH,
    check_character,
    new_serial,
    new_serials,
    normalise_serial,
    validate_serial,
)

# GS1 AI encodable character set 82, per the GS1 General Specifications.
GS1_SET_82 = set(string.ascii_letters + string.digits + "!\"%&'()*+,-./:;<=>?_")
PAYLOADS = st.text(alphabet=ALPHABET, min_size=16, max_size=16)


def _luhn_mod_n_check(payload: str) -> str:
    """Luhn mod N as usually written (N = 32 here), independent of the module's tables."""
    factor, total, n = 2, 0, len(ALPHABET)
    for symbol in reversed(payload):
        addend = factor * ALPHABET.index(symbol)
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def test_serial_is_17_crockford_characters_that_validate() -> None:
    serial = new_serial()
    assert len(serial) == SERIAL_LENGTH == 17
    assert set(serial) <= set(ALPHABET)
    assert validate_serial(serial) == serial


def test_serials_fit_gs1_ai21() -> None:
    for serial in new_serials(1000):
        assert len(serial) <= 20
        assert set(serial) <= GS1_SET_82
    assert not {"~", "$", "*", "=", "U"} & set(ALPHABET)


def test_bulk_serials_are_unique_valid_and_read_randomness_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []
    real_urandom = os.urandom

    def counting_urandom(n: int) -> bytes:
        calls.append(n)
        return real_urandom(n)

    monkeypatch.setattr(os, "urandom", counting_urandom)
    batch = new_serials(20_000)
    assert calls == [20_000 * 10]  # 80 bits each
    assert len(set(batch)) == 20_000
    assert all(validate_serial(s) == s for s in batch)


def test_every_position_uses_the_whole_alphabet() -> None:
    batch = new_serials(20_000)
    for position in range(16):
        counts = Counter(s[position] for s in batch)
        assert set(counts) == set(ALPHABET)
        # 625 expected per symbol; a biased encoder would miss this by far.
        assert max(counts.values()) < 800 and min(counts.values()) > 450


def test_zero_serials_is_an_empty_list_and_negative_is_an_error() -> None:
    assert new_serials(0) == []
    with pytest.raises(ValueError, match="negative"):
        new_serials(-1)


@settings(max_examples=300)
@given(PAYLOADS)
def test_check_character_matches_textbook_luhn_mod_n(payload: str) -> None:
    assert check_character(payload) == _luhn_mod_n_check(payload)


def test_check_characters_worked_by_hand() -> None:
    assert check_character("0" * 16) == "0"
    assert check_character("0" * 15 + "1") == "Y"  # 1 doubled = 2, check = 32 - 2 = 30
    assert check_character("0" * 15 + "G") == "Z"  # 16 doubled = 32 -> 1 + 0 = 1, check = 31
    assert check_character("0" * 14 + "10") == "Z"  # the 1 is undoubled: check = 32 - 1
    assert check_character("0" * 15 + "X") == "5"  # 29 doubled = 58 -> 1 + 26 = 27, check = 5
    assert check_character("0" * 14 + "V5") == "V"  # 27 + 5 doubled = 37 = 5 mod 32, check = 27


def test_bulk_check_characters_agree_with_the_single_path() -> None:
    for serial in new_serials(5000):
        assert check_character(serial[:-1]) == serial[-1]


SAMPLES = [
    "0" * 16 + check_character("0" * 16),
    "Z" * 16 + check_character("Z" * 16),
    *new_serials(8),
]


@pytest.mark.parametrize("serial", SAMPLES)
def test_every_single_substitution_is_detected(serial: str) -> None:
    for position in range(SERIAL_LENGTH):
        for symbol in ALPHABET:
            if symbol == serial[position]:
                continue
            typo = serial[:position] + symbol + serial[position + 1 :]
            with pytest.raises(InvalidSerial, match="check character"):
                validate_serial(typo)


def test_adjacent_transpositions_are_caught_except_zero_and_z() -> None:
    missed = set()
    for a in ALPHABET:
        for b in ALPHABET:
            if a == b:
                continue
            payload = "0" * 7 + a + b + "0" * 7
            serial = payload + check_character(payload)
            swapped = payload[:7] + b + a + payload[9:] + serial[-1]
            try:
                validate_serial(swapped)
            except InvalidSerial:
                continue
            missed.add(frozenset((a, b)))
    assert missed == {frozenset(("0", "Z"))}


def test_normalise_follows_crockford_reading_rules() -> None:
    assert normalise_serial("abc-def") == "ABCDEF"
    assert normalise_serial("iIlL") == "1111"
    assert normalise_serial("oO") == "00"
    assert normalise_serial("--") == ""


def test_validate_accepts_what_people_type() -> None:
    serial = next(s for s in new_serials(1000) if "1" in s and "0" in s)
    typed = serial.lower().replace("1", "l").replace("0", "o")
    typed = typed[:4] + "-" + typed[4:8] + "-" + typed[8:12] + "-" + typed[12:]
    assert validate_serial(typed) == serial


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "17 characters"),
        ("0" * 16, "17 characters"),
        ("0" * 18, "17 characters"),
        ("0" * 16 + "U", "not in the Crockford"),
        ("0" * 8 + "*" + "0" * 8, "character 9"),
        ("0" * 16 + "~", "not in the Crockford"),
        ("0" * 16 + "ſ", "not ASCII"),
        ("0" * 15 + "11", "check character"),
    ],
)
def test_invalid_serials_say_what_is_wrong(text: str, reason: str) -> None:
    with pytest.raises(InvalidSerial, match=reason):
        validate_serial(text)


def test_invalid_serial_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_serial("nope")


@settings(max_examples=200)
@given(PAYLOADS)
def test_any_payload_with_its_check_character_validates(payload: str) -> None:
    serial = payload + check_character(payload)
    assert validate_serial(serial) == serial
    assert validate_serial(serial.lower()) == serial
