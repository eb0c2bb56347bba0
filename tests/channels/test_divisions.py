"""GB/T 2260 division table (package data) and territory coverage by code."""

from __future__ import annotations

from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trace_api.channels import divisions
from trace_api.channels.divisions import (
    Division,
    DivisionTable,
    InvalidDivision,
    Level,
    coverage_prefix,
    covered_by_any,
    covers,
    display_name,
    is_known,
    lookup,
    province_of,
    same_province,
    territory_prefixes,
)


def test_shipped_table_is_the_whole_county_level_list() -> None:
    table = divisions.table()
    by_level: dict[str, list[Division]] = {"province": [], "city": [], "county": []}
    for division in table:
        by_level[division.level].append(division)
    assert 3100 <= len(table) <= 3300
    assert len(by_level["province"]) == 34
    assert {"710000", "810000", "820000"} <= {d.code for d in by_level["province"]}
    assert 320 <= len(by_level["city"]) <= 340
    assert 2800 <= len(by_level["county"]) <= 2900


def test_every_division_below_a_province_has_a_listed_parent_of_a_higher_level() -> None:
    order = {"province": 0, "city": 1, "county": 2}
    for division in divisions.table():
        if division.level == "province":
            assert division.parent is None
            continue
        assert division.parent is not None
        parent = lookup(division.parent)
        assert order[parent.level] < order[division.level]
        assert covers(parent.code, division.code)


def test_source_and_version_ship_beside_the_table() -> None:
    data = resources.files("trace_api.channels").joinpath("data")
    header = data.joinpath("gbt2260.csv").read_text("utf-8").splitlines()[0]
    source = data.joinpath("SOURCE.md").read_text("utf-8")
    assert header == "code,name"
    assert "Ministry of Civil Affairs" in source
    assert "2024" in divisions.TABLE_VERSION and "2024" in source


@pytest.mark.parametrize(
    ("code", "name", "level", "parent"),
    [
        ("330000", "浙江省", "province", None),
        ("330100", "杭州市", "city", "330000"),
        ("330106", "西湖区", "county", "330100"),
        ("320000", "江苏省", "province", None),
        ("320100", "南京市", "city", "320000"),
        ("110000", "北京市", "province", None),
        # a municipality's district: the list has no 110100 市辖区 row
        ("110101", "东城区", "county", "110000"),
        ("500229", "城口县", "county", "500000"),
        # county-level units run by the province, under no city
        ("429004", "仙桃市", "county", "420000"),
        ("419001", "济源市", "county", "410000"),
        ("659001", "石河子市", "county", "650000"),
        # prefecture-level cities with no counties
        ("441900", "东莞市", "city", "440000"),
        ("810000", "香港特别行政区", "province", None),
    ],
)
def test_lookup_gives_name_level_and_parent(
    code: str, name: str, level: Level, parent: str | None
) -> None:
    assert lookup(code) == Division(code, name, level, parent)
    assert is_known(code)


@pytest.mark.parametrize(
    ("code", "full_name"),
    [
        ("330106", "浙江省 杭州市 西湖区"),
        ("330100", "浙江省 杭州市"),
        ("330000", "浙江省"),
        ("110101", "北京市 东城区"),
        ("429004", "湖北省 仙桃市"),
        ("460302", "海南省 三沙市 西沙区"),
    ],
)
def test_display_name_is_the_full_path(code: str, full_name: str) -> None:
    assert display_name(code) == full_name


@pytest.mark.parametrize(
    "code", ["33", "3301O6", "", "3301060", " 330106", "３３０１０６", "33010６"]
)
def test_malformed_codes_are_refused_as_malformed(code: str) -> None:
    with pytest.raises(InvalidDivision, match="six digits") as caught:
        lookup(code)
    assert caught.value.reason == "malformed"
    assert not is_known(code)
    with pytest.raises(InvalidDivision):
        display_name(code)
    with pytest.raises(InvalidDivision):
        province_of(code)


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("999999", "there is no province 990000"),
        ("330199", "not a division in the GB/T 2260 table"),
        ("110100", "listed directly under 110000 北京市"),
        ("429000", "listed directly under 420000 湖北省"),
    ],
)
def test_well_formed_codes_not_in_the_table_are_unknown(code: str, hint: str) -> None:
    with pytest.raises(InvalidDivision, match=hint) as caught:
        lookup(code)
    assert caught.value.reason == "unknown"
    assert caught.value.code == code
    assert not is_known(code)


@pytest.mark.parametrize(
    ("authorised", "observed", "expected"),
    [
        # a province covers itself, its cities and its counties
        ("330000", "330000", True),
        ("330000", "330100", True),
        ("330000", "330106", True),
        ("330000", "331100", True),
        ("330000", "320100", False),
        ("330000", "320106", False),
        ("330000", "340000", False),
        # a city covers itself and its counties, not its province or siblings
        ("330100", "330100", True),
        ("330100", "330106", True),
        ("330100", "330000", False),
        ("330100", "330200", False),
        ("330100", "330206", False),
        ("330100", "320106", False),
        # a county covers only itself
        ("330106", "330106", True),
        ("330106", "330105", False),
        ("330106", "330100", False),
        ("330106", "330000", False),
        # municipalities: the province code covers every district and county
        ("110000", "110101", True),
        ("500000", "500229", True),
        ("500000", "510100", False),
        # a 市辖区-style grouping code covers by prefix, table or not
        ("110100", "110101", True),
        ("500100", "500229", False),
        # province-administered counties: their province covers them, a city does not
        ("420000", "429004", True),
        ("420100", "429004", False),
        # malformed strings cover and are covered by nothing
        ("33", "330106", False),
        ("330000", "33", False),
        ("", "", False),
    ],
)
def test_covers_truth_table(authorised: str, observed: str, expected: bool) -> None:
    assert covers(authorised, observed) is expected


def test_covered_by_any_needs_one_covering_territory() -> None:
    territories = ["320100", "330106"]
    assert covered_by_any(territories, "320115")
    assert covered_by_any(territories, "330106")
    assert not covered_by_any(territories, "330105")
    assert not covered_by_any([], "330106")
    assert covered_by_any(iter(["110000"]), "110101")


def test_province_helpers() -> None:
    assert province_of("330106") == "330000"
    assert province_of("429004") == "420000"
    assert province_of("330000") == "330000"
    assert same_province("330106", "331100")
    assert not same_province("330106", "320106")
    with pytest.raises(InvalidDivision):
        same_province("330106", "3301O6")


def test_grouping_rows_of_older_lists_are_parents_but_not_displayed() -> None:
    table = DivisionTable(
        [
            ("110000", "北京市"),
            ("110100", "市辖区"),
            ("110101", "东城区"),
            ("420000", "湖北省"),
            ("429000", "省直辖县级行政区划"),
            ("429004", "仙桃市"),
        ],
        version="test",
    )
    assert table.lookup("110100") == Division("110100", "市辖区", "city", "110000")
    assert table.lookup("110101").parent == "110100"
    assert table.lookup("429004").parent == "429000"
    assert table.display_name("110101") == "北京市 东城区"
    assert table.display_name("429004") == "湖北省 仙桃市"
    assert table.display_name("110100") == "北京市 市辖区"


def test_a_table_refuses_duplicates_orphans_and_bad_codes() -> None:
    with pytest.raises(ValueError, match="listed twice"):
        DivisionTable([("330000", "浙江省"), ("330000", "浙江")], version="test")
    with pytest.raises(ValueError, match="no province 330000"):
        DivisionTable([("330106", "西湖区")], version="test")
    with pytest.raises(InvalidDivision):
        DivisionTable([("33010", "西湖区")], version="test")


_TABLE_CODES = sorted(d.code for d in divisions.table())
_codes = st.sampled_from(_TABLE_CODES) | st.from_regex(r"[0-9]{6}", fullmatch=True)
# codes that share a prefix with a table code often, so covers() is true often enough
_near_codes = st.builds(
    lambda code, cut, tail: (code[:cut] + tail)[:6],
    st.sampled_from(_TABLE_CODES),
    st.sampled_from([2, 4, 6]),
    st.from_regex(r"[0-9]{4}", fullmatch=True),
)
_shaped_codes = st.sampled_from(_TABLE_CODES).flatmap(
    lambda code: st.sampled_from([code[:2] + "0000", code[:4] + "00", code])
)


@settings(max_examples=500, deadline=None)
@given(a=_codes | _near_codes | _shaped_codes, b=_codes | _near_codes | _shaped_codes)
def test_covering_never_crosses_a_province(a: str, b: str) -> None:
    if covers(a, b):
        assert province_of(a) == province_of(b)
        assert same_province(a, b)


@settings(max_examples=300, deadline=None)
@given(a=_codes, b=_codes | _near_codes | _shaped_codes, c=_codes | _near_codes | _shaped_codes)
def test_covering_is_transitive(a: str, b: str, c: str) -> None:
    if covers(a, b) and covers(b, c):
        assert covers(a, c)


@settings(max_examples=300, deadline=None)
@given(code=st.sampled_from(_TABLE_CODES))
def test_every_ancestor_in_the_table_covers_its_descendants(code: str) -> None:
    division: Division | None = lookup(code)
    while division is not None:
        assert covers(division.code, code)
        division = lookup(division.parent) if division.parent else None


@settings(max_examples=500, deadline=None)
@given(
    territories=st.lists(_codes | _shaped_codes | st.text(max_size=7), max_size=4),
    observed=_codes | _near_codes | _shaped_codes | st.text(max_size=7),
)
def test_prefixes_answer_as_covers_does(territories: list[str], observed: str) -> None:
    for territory in territories:
        prefix = coverage_prefix(territory)
        assert covers(territory, observed) == (
            len(observed) == 6 and prefix != "" and observed.startswith(prefix)
        )
    expected = covered_by_any(territories, observed)
    assert expected == (len(observed) == 6 and observed.startswith(territory_prefixes(territories)))


def test_coverage_prefixes() -> None:
    assert coverage_prefix("330000") == "33"
    assert coverage_prefix("330100") == "3301"
    assert coverage_prefix("330106") == "330106"
    assert coverage_prefix("33") == ""
    assert territory_prefixes(["330000", "bad", "320100"]) == ("33", "3201")
