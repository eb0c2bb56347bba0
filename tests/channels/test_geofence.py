"""GeoJSON geofences: parsing with named faults, and point containment in [lon, lat] order."""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

import pytest

from trace_api.channels.geofence import MAX_VERTICES, Geofence, InvalidGeofence, parse

# A rough outline of Zhejiang province, [longitude, latitude] as GeoJSON has it.
ZHEJIANG: dict[str, Any] = {
    "type": "Polygon",
    "coordinates": [
        [
            [118.0, 29.2],
            [118.5, 28.2],
            [119.5, 27.2],
            [120.5, 27.0],
            [121.5, 28.0],
            [122.5, 29.5],
            [122.8, 30.6],
            [121.3, 30.9],
            [120.8, 30.9],
            [119.6, 31.2],
            [119.0, 30.3],
            [118.0, 29.2],
        ]
    ],
}
HANGZHOU = (30.27, 120.15)
NINGBO = (29.87, 121.55)
WENZHOU = (28.00, 120.70)
NANJING = (32.06, 118.80)
SHANGHAI = (31.23, 121.47)


def _square(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def _signed_area(ring: list[list[float]]) -> float:
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairwise(ring)) / 2


def test_zhejiang_contains_hangzhou_but_not_nanjing_or_shanghai() -> None:
    zhejiang = parse(ZHEJIANG)
    for lat, lon in (HANGZHOU, NINGBO, WENZHOU):
        assert zhejiang.contains(lat, lon)
    for lat, lon in (NANJING, SHANGHAI):
        assert not zhejiang.contains(lat, lon)


def test_contains_takes_latitude_first_and_refuses_swapped_coordinates() -> None:
    zhejiang = parse(ZHEJIANG)
    lat, lon = HANGZHOU
    with pytest.raises(ValueError, match=r"latitude 120\.15"):
        zhejiang.contains(lon, lat)
    with pytest.raises(ValueError, match="longitude 181"):
        zhejiang.contains(30.0, 181.0)
    with pytest.raises(ValueError, match="latitude nan"):
        zhejiang.contains(float("nan"), 120.0)


def test_text_feature_and_feature_collection_give_the_same_fence() -> None:
    feature = {"type": "Feature", "properties": {"name": "浙江"}, "geometry": ZHEJIANG}
    collection = {"type": "FeatureCollection", "features": [feature]}
    fences = [parse(ZHEJIANG), parse(json.dumps(ZHEJIANG)), parse(feature), parse(collection)]
    assert all(fence.geojson == fences[0].geojson for fence in fences)
    assert all(fence.contains(*HANGZHOU) and not fence.contains(*NANJING) for fence in fences)


def test_geojson_is_normalised_with_counter_clockwise_outer_rings_and_clockwise_holes() -> None:
    clockwise_shell = list(reversed(_square(0, 0, 10, 10)))
    counter_clockwise_hole = _square(4, 4, 6, 6)
    fence = parse({"type": "Polygon", "coordinates": [clockwise_shell, counter_clockwise_hole]})
    geojson = fence.geojson
    assert geojson["type"] == "Polygon"
    shell, hole = geojson["coordinates"]
    assert _signed_area(shell) == 100
    assert _signed_area(hole) == -4
    assert json.loads(json.dumps(geojson)) == geojson
    assert parse(geojson).geojson == geojson


def test_points_in_a_hole_are_outside() -> None:
    fence = parse({"type": "Polygon", "coordinates": [_square(0, 0, 10, 10), _square(4, 4, 6, 6)]})
    assert fence.contains(2, 2)
    assert fence.contains(5, 8)
    assert not fence.contains(5, 5)
    assert not fence.contains(11, 5)


def test_a_point_on_the_edge_counts_as_inside() -> None:
    fence = parse({"type": "Polygon", "coordinates": [_square(0, 0, 10, 10)]})
    assert fence.contains(0, 5)
    assert fence.contains(10, 10)
    assert not fence.contains(10.000001, 10)


def test_multipolygon_contains_points_in_either_part_only() -> None:
    fence = parse(
        {
            "type": "MultiPolygon",
            "coordinates": [
                [_square(0, 0, 1, 1)],
                [_square(5, 5, 6, 6), _square(5.4, 5.4, 5.6, 5.6)],
            ],
        }
    )
    assert isinstance(fence, Geofence)
    assert fence.contains(0.5, 0.5)
    assert fence.contains(5.2, 5.2)
    assert not fence.contains(5.5, 5.5)
    assert not fence.contains(3, 3)
    assert fence.geojson["type"] == "MultiPolygon"


def test_overlapping_features_of_a_collection_are_merged() -> None:
    collection = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [_square(0, 0, 2, 2)]},
            },
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [_square(1, 1, 3, 3)]},
            },
        ],
    }
    fence = parse(collection)
    assert fence.geojson["type"] == "Polygon"
    assert fence.contains(0.5, 0.5) and fence.contains(2.5, 2.5) and fence.contains(1.5, 1.5)
    assert not fence.contains(0.5, 2.5)


def _polygon(*rings: list[list[Any]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(
            _polygon([[0, 0], [1, 0], [1, 1], [0, 1]]),
            r"coordinates\[0\] is not closed: its last position \[0.0, 1.0\]",
            id="open ring",
        ),
        pytest.param(
            _polygon([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]),
            r"not a valid area: Self-intersection\[0.5 0.5\]",
            id="bowtie",
        ),
        pytest.param(
            _polygon([[120, 30], [121, 30], [121, 95], [120, 30]]),
            r"coordinates\[0\]\[2\]: latitude 95.0 is outside -90..90",
            id="latitude out of range",
        ),
        pytest.param(
            # [lat, lon] by mistake: 120 is no latitude
            _polygon([[30, 120], [30, 121], [31, 121], [30, 120]]),
            r"coordinates\[0\]\[0\]: latitude 120.0 is outside",
            id="swapped order",
        ),
        pytest.param(
            _polygon([[-181, 0], [0, 0], [0, 1], [-181, 0]]),
            r"coordinates\[0\]\[0\]: longitude -181.0 is outside -180..180",
            id="longitude out of range",
        ),
        pytest.param(
            {"type": "Point", "coordinates": [120.15, 30.27]},
            r"type 'Point'; a geofence is a Polygon or MultiPolygon",
            id="point",
        ),
        pytest.param({"coordinates": []}, r"type None", id="no type"),
        pytest.param(
            _polygon([[0, 0], [1, 0], [0, 0]]),
            r"coordinates\[0\] must be a linear ring of positions with at least 4 entries, got 3",
            id="short ring",
        ),
        pytest.param(_polygon(), r"coordinates must be an array of linear rings", id="no rings"),
        pytest.param(
            {"type": "Polygon", "coordinates": "0,0 1,0 1,1"},
            r"coordinates must be an array of linear rings, got str",
            id="coordinates not an array",
        ),
        pytest.param(
            _polygon([[0, 0], [1, "0"], [1, 1], [0, 0]]),
            r"coordinates\[0\]\[1\] must be \[longitude, latitude\] in numbers",
            id="string number",
        ),
        pytest.param(
            _polygon([[0, 0], [1, 0], [True, 1], [0, 0]]),
            r"coordinates\[0\]\[2\] must be \[longitude, latitude\] in numbers",
            id="boolean",
        ),
        pytest.param(
            _polygon([[0, 0], [10**400, 0], [1, 1], [0, 0]]),
            r"coordinates\[0\]\[1\] must be \[longitude, latitude\] in numbers, got \[1000",
            id="huge integer",
        ),
        pytest.param(
            _polygon([[0, 0], [1, 0], [float("nan"), 1], [0, 0]]),
            r"coordinates\[0\]\[2\] must be \[longitude, latitude\] in numbers",
            id="NaN",
        ),
        pytest.param(
            _polygon([[0, 0], [1], [1, 1], [0, 0]]),
            r"coordinates\[0\]\[1\] must be a position \[longitude, latitude\] with at least 2",
            id="one-number position",
        ),
        pytest.param(
            _polygon(_square(0, 0, 1, 1), _square(5, 5, 6, 6)),
            r"not a valid area: Hole lies outside shell",
            id="hole outside shell",
        ),
        pytest.param(
            {
                "type": "MultiPolygon",
                "coordinates": [[_square(0, 0, 2, 2)], [_square(1, 1, 3, 3)]],
            },
            r"the geofence is not a valid area: Self-intersection",
            id="overlapping multipolygon parts",
        ),
        pytest.param(
            {
                "type": "MultiPolygon",
                "coordinates": [[_square(0, 0, 1, 1)], [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]],
            },
            r"coordinates\[1\] is not a valid area: Self-intersection",
            id="bowtie part of a multipolygon",
        ),
        pytest.param(
            {"type": "MultiPolygon", "coordinates": []},
            r"coordinates must be an array of polygons with at least 1",
            id="empty multipolygon",
        ),
        pytest.param(
            {"type": "Feature", "geometry": None},
            r"geometry is null",
            id="feature without geometry",
        ),
        pytest.param(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "geometry": _polygon(_square(0, 0, 1, 1))},
                    {"type": "Feature", "geometry": {"type": "LineString", "coordinates": []}},
                ],
            },
            r"features\[1\].geometry must be a Polygon or MultiPolygon, not 'LineString'",
            id="line in a collection",
        ),
        pytest.param(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "geometry": _polygon([[0, 0], [1, 0], [1, 1]])}],
            },
            r"features\[0\].geometry.coordinates\[0\] must be a linear ring",
            id="path into a collection",
        ),
        pytest.param(
            {"type": "FeatureCollection", "features": [_polygon(_square(0, 0, 1, 1))]},
            r"features\[0\] must be a GeoJSON Feature",
            id="bare geometry in a collection",
        ),
        pytest.param(
            {"type": "FeatureCollection", "features": []},
            r"features must be a non-empty array",
            id="empty collection",
        ),
        pytest.param('{"type": "Polygon"', r"the geofence is not JSON", id="not JSON"),
        pytest.param("[1, 2]", r"the geofence must be a GeoJSON object", id="JSON array"),
    ],
)
def test_invalid_geofences_are_refused_naming_the_fault(value: Any, message: str) -> None:
    with pytest.raises(InvalidGeofence, match=message):
        parse(value)


def test_a_geofence_has_a_vertex_limit() -> None:
    n = MAX_VERTICES + 1
    ring = [[float(i % 360 - 180), 0.0] for i in range(n)]
    ring.append(ring[0])
    with pytest.raises(InvalidGeofence, match=f"more than {MAX_VERTICES} vertices"):
        parse(_polygon(ring))
