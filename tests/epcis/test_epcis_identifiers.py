"""Identifiers: EPC URNs and GS1 Digital Link URIs reduce to one key."""

from __future__ import annotations

import pytest

from trace_api.epcis import identifiers
from trace_api.epcis.identifiers import IdentifierPatternError, Match, canonical, match_for
from trace_api.errors import InvalidInput


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (
            [
                "urn:epc:id:sgtin:0614141.107346.2017",
                "https://id.gs1.org/01/10614141073464/21/2017",
                "https://brand.example/dl/01/10614141073464/10/LOT-9/21/2017?linkType=all",
                "http://127.0.0.1:8000/01/10614141073464/21/2017",
            ],
            "https://id.gs1.org/01/10614141073464/21/2017",
        ),
        (
            [
                "urn:epc:id:sgtin:0614141.107346.A%2FB",
                "https://id.gs1.org/01/10614141073464/21/A%2FB",
            ],
            "https://id.gs1.org/01/10614141073464/21/A%2FB",
        ),
        (
            ["urn:epc:id:sscc:0614141.1234567890", "https://id.gs1.org/00/106141412345678908"],
            "https://id.gs1.org/00/106141412345678908",
        ),
        (
            ["urn:epc:id:sgln:0614141.07346.1234", "https://id.gs1.org/414/0614141073467/254/1234"],
            "https://id.gs1.org/414/0614141073467/254/1234",
        ),
        (
            ["urn:epc:id:pgln:0614141.00001", "https://id.gs1.org/417/0614141000012"],
            "https://id.gs1.org/417/0614141000012",
        ),
        (
            ["urn:epc:id:giai:4000001.12345", "https://id.gs1.org/8004/400000112345"],
            "https://id.gs1.org/8004/400000112345",
        ),
        (
            ["urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8"],
            "urn:uuid:6ba7b810-9dad-11d1-80b4-00c04fd430c8",
        ),
    ],
)
def test_every_spelling_of_an_identifier_has_one_key(spellings: list[str], key: str) -> None:
    assert {canonical(s) for s in spellings} == {key}


def test_a_wrong_check_digit_is_not_taken_for_a_gtin() -> None:
    bad = "https://id.gs1.org/01/10614141073465/21/2017"
    assert canonical(bad) == bad


@pytest.mark.parametrize(
    "spelling",
    [
        "306141410000000013",
        " 306141410000000013\n",
        "https://id.gs1.org/00/306141410000000013",
        "https://brand.example/00/306141410000000013?linkType=all",
    ],
)
def test_an_sscc_in_any_form_has_one_key(spelling: str) -> None:
    assert identifiers.sscc_key(spelling) == "https://id.gs1.org/00/306141410000000013"


@pytest.mark.parametrize(
    "text",
    [
        "30614141000000001",  # 17 digits: a serial, perhaps
        "https://id.gs1.org/00/1234",
        "https://id.gs1.org/00/306141410000000013/extra",
        "urn:epc:id:sscc:0614141.12",  # a URN one digit short of an SSCC
        "https://id.gs1.org/01/09506000134352/21/ABC",
    ],
)
def test_what_is_not_an_sscc_is_none(text: str) -> None:
    assert identifiers.sscc_key(text) is None


@pytest.mark.parametrize("text", ["306141410000000014", "https://id.gs1.org/00/306141410000000014"])
def test_an_sscc_with_a_wrong_check_digit_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="check digit 4, expected 3"):
        identifiers.sscc_key(text)


def test_class_keys_and_patterns() -> None:
    assert identifiers.class_key("urn:epc:class:lgtin:4012345.022222.87545GHGH") == (
        "https://id.gs1.org/01/04012345222227/10/87545GHGH"
    )
    assert identifiers.class_key("urn:epc:idpat:sgtin:4012345.044444.*") == (
        "https://id.gs1.org/01/04012345444445"
    )
    assert match_for("urn:epc:idpat:sgtin:0614141.107346.*") == Match(
        "https://id.gs1.org/01/10614141073464/21/", prefix=True
    )
    for unsupported in ("urn:epc:idpat:sgtin:0614141.*.*", "urn:epc:idpat:sscc:0614141.*"):
        with pytest.raises(IdentifierPatternError):
            match_for(unsupported)


def test_cbv_values_compare_bare() -> None:
    for value in (
        "shipping",
        "urn:epcglobal:cbv:bizstep:shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping",
    ):
        assert identifiers.cbv_term(value) == "shipping"
    assert identifiers.cbv_term("https://example.com/steps/x") == "https://example.com/steps/x"


def test_an_sscc_in_another_scripts_digits_is_no_sscc() -> None:
    arabic_indic = "".join(chr(0x0660 + int(d)) for d in "306141410000000013")
    assert identifiers.sscc_key("306141410000000013") == "https://id.gs1.org/00/306141410000000013"
    assert identifiers.sscc_key(arabic_indic) is None
