"""GTINs and GS1 Digital Link URIs: what we print parses back, here and with biip."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from hypothesis import given
from hypothesis import strategies as st

from crypto.serials import new_serial
from trace_api.codes.errors import InvalidDigitalLink, InvalidGtin
from trace_api.codes.gs1 import (
    encode_value,
    gs1_date,
    item_uri,
    normalise_gtin,
    parse_item_link,
    parse_item_path,
    parse_link_key,
)

CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
BASE = "https://id.brand.example"


@pytest.mark.parametrize(
    ("given_gtin", "expected"),
    [
        ("96385074", "00000096385074"),  # GTIN-8
        ("614141123452", "00614141123452"),  # GTIN-12 (UPC-A)
        ("9506000134352", "09506000134352"),  # GTIN-13
        ("09506000134352", "09506000134352"),  # GTIN-14
    ],
)
def test_gtins_of_every_length_normalise_to_gtin14(given_gtin: str, expected: str) -> None:
    assert normalise_gtin(given_gtin) == expected


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("09506000134353", "check digit 3, expected 2"),
        ("950600013435", "check digit"),
        ("123", "8, 12, 13 or 14 digits"),
        ("95060001343a2", "only digits"),
        ("０９５０６０００１３４３５２", "only digits"),  # full-width digits
    ],
)
def test_bad_gtins_are_refused_saying_why(bad: str, says: str) -> None:
    with pytest.raises(InvalidGtin, match=says):
        normalise_gtin(bad)


@given(lot=st.text(alphabet=CSET82, min_size=1, max_size=20))
def test_printed_uri_parses_back_with_ours_and_with_biip(lot: str) -> None:
    serial = new_serial()
    uri = item_uri(BASE, "09506000134352", lot, serial)
    path = uri.removeprefix(BASE)
    assert all(c.isalnum() or c in "/%-._~" for c in path), path  # only unreserved + escapes
    ours = parse_item_link(uri)
    assert (ours.gtin, ours.lot, ours.serial) == ("09506000134352", lot, serial)
    theirs = {e.ai.ai: e.value for e in GS1DigitalLinkURI.parse(uri).element_strings}
    assert theirs == {"01": "09506000134352", "10": lot, "21": serial}


def test_other_forms_gs1_allows_are_read() -> None:
    link = parse_item_link(
        "https://brand.example/products/dl/01/9506000134352/22/2A/10/AB%2F1/21/XYZ"
        "?17=271231&11=261101&linkType=gs1:pip"
    )
    assert link.prefix == "/products/dl"
    assert link.gtin == "09506000134352"
    assert (link.variant, link.lot, link.serial) == ("2A", "AB/1", "XYZ")
    assert link.attributes == {"17": "271231", "11": "261101"}
    assert link.params == {"linkType": "gs1:pip"}
    assert parse_item_link("/01/09506000134352/21/XYZ").lot is None  # qualifiers are optional
    assert link.uri(BASE) == f"{BASE}/01/09506000134352/22/2A/10/AB%2F1/21/XYZ?11=261101&17=271231"


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("/01/09506000134353/10/A/21/B", "check digit"),
        ("/01/09506000134352/21/B/10/A", "AI 10 (batch/lot) must come before AI 21"),
        ("/01/09506000134352/10/A/22/V", "AI 22 (consumer product variant) must come before"),
        ("/01/09506000134352/99/X", "unknown or unexpected AI '99'"),
        ("/01/09506000134352/17/271231", "data attribute: put it in the query string"),
        ("/01/09506000134352/21/B/21/C", "appears twice"),
        ("/01/09506000134352?99=1", "unknown AI '99' in the query string"),
        ("/01/09506000134352?21=1", "belongs in the path"),
        ("/01/09506000134352?17=271331", "month 13 does not exist"),
        ("/01/09506000134352?17=27123", "malformed value"),
        ("/01/09506000134352?17=1&17=2", "malformed value"),
        ("/01/09506000134352/10", "AI 10 has no value"),
        ("/01/09506000134352/10/a%20b", "may not contain ' '"),
        ("/01/09506000134352/10/" + "A" * 21, "1 to 20 characters"),
        ("/01/09506000134352/10/%zz", "bad percent-encoding"),
        ("/01/09506000134352/10/%ff", "not percent-encoded UTF-8"),
        ("/01/09506000134352/21/%ed%a0%80", "not percent-encoded UTF-8"),
        ("/gtin/09506000134352/lot/A", "short names such as 'gtin'"),
        ("/00/106141412345678908", "not AI 00"),
        ("/products/42", "no GTIN"),
        ("ftp://x/01/09506000134352", "http or https"),
    ],
)
def test_malformed_links_are_refused_with_a_clear_error(uri: str, says: str) -> None:
    with pytest.raises(InvalidDigitalLink, match=re.escape(says)):
        parse_item_link(uri)


def test_gs1_dates_follow_the_general_specifications() -> None:
    assert gs1_date("270200").isoformat() == "2027-02-28"  # DD 00: the month's last day
    assert gs1_date("280200").isoformat() == "2028-02-29"
    with pytest.raises(InvalidDigitalLink, match="day 30"):
        gs1_date("270230")


@given(value=st.text(max_size=24))
def test_values_are_percent_encoded_but_the_unreserved_characters(value: str) -> None:
    assert encode_value(value) == quote(value, safe="")


@given(
    lot=st.text(alphabet=CSET82, min_size=1, max_size=20),
    query=st.sampled_from(["", "17=281031", "linkType=all", "lat=30.2&lon=120.1&region=330106"]),
)
def test_a_request_path_and_query_parse_as_the_uri_does(lot: str, query: str) -> None:
    uri = item_uri("", "09506000134352", lot, new_serial())
    path = uri if not query else f"{uri}?{query}"
    assert parse_item_path(uri, query) == parse_item_link(path)


@pytest.mark.parametrize(
    ("uri", "pairs"),
    [
        (
            f"{BASE}/01/9506000134352/10/L%2F1/21/S1",
            (("01", "09506000134352"), ("10", "L/1"), ("21", "S1")),
        ),
        ("https://id.gs1.org/00/106141412345678908", (("00", "106141412345678908"),)),
        (
            "https://example.com/414/0614141123452/254/5?17=270101",
            (("414", "0614141123452"), ("254", "5")),
        ),
        ("https://id.gs1.org/01/09506000134352", (("01", "09506000134352"),)),
    ],
)
def test_the_key_of_any_digital_link_is_read(uri: str, pairs: tuple[tuple[str, str], ...]) -> None:
    assert parse_link_key(uri) == pairs


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://id.gs1.org/01/09506000134352/21/S1",
        "https://id.gs1.org/01/09506000134353/21/S1",  # wrong check digit, biip only notes it
        "https://id.gs1.org/99/123",
        "https://id.gs1.org/",
    ],
)
def test_what_is_no_digital_link_key_is_refused(uri: str) -> None:
    with pytest.raises(InvalidDigitalLink):
        parse_link_key(uri)
