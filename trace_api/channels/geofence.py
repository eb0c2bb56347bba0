"""Geofences: GeoJSON (RFC 7946) polygons an observation's coordinates are tested against.

A geofence is given as a Polygon or MultiPolygon geometry, or as a Feature or
FeatureCollection of them (whose polygons are merged). Positions are ``[longitude,
latitude]`` in WGS 84, as GeoJSON has them; `Geofence.contains` takes latitude first, as
people say it. Polygons that cross the antimeridian must be split there (RFC 7946 §3.1.9).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping
from shapely.validation import explain_validity

MAX_VERTICES = 100_000
_GEOMETRY_TYPES = ("Polygon", "MultiPolygon")
_ACCEPTED = "a Polygon or MultiPolygon geometry, or a Feature or FeatureCollection of them"


class InvalidGeofence(ValueError):
    """A geofence that is not JSON, not polygonal GeoJSON, or not a valid area."""


class Geofence:
    """A polygonal area, holes honoured, prepared once so point tests are fast."""

    __slots__ = ("_geometry",)

    def __init__(self, geometry: Polygon | MultiPolygon) -> None:
        self._geometry = shapely.orient_polygons(geometry)
        shapely.prepare(self._geometry)

    def __repr__(self) -> str:
        return f"Geofence({self._geometry.geom_type}, bounds={self._geometry.bounds})"

    @property
    def geojson(self) -> dict[str, Any]:
        """The normalised geometry: one Polygon or MultiPolygon, outer rings counter-clockwise."""
        normalised: dict[str, Any] = json.loads(json.dumps(mapping(self._geometry)))
        return normalised

    def contains(self, lat: float, lon: float) -> bool:
        """Whether the point is inside the area or on its edge (not in a hole)."""
        if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
            raise ValueError(f"latitude {lat!r} is not a number in -90..90")
        if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
            raise ValueError(f"longitude {lon!r} is not a number in -180..180")
        return bool(shapely.intersects_xy(self._geometry, lon, lat))


def parse(value: str | Mapping[str, Any]) -> Geofence:
    """A geofence from GeoJSON text or its decoded object; InvalidGeofence naming the fault."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as exc:
            raise InvalidGeofence(f"the geofence is not JSON: {exc}") from exc
    counter = _VertexCounter()
    polygons = _polygons_of(value, "", counter)
    if not polygons:
        raise InvalidGeofence("the geofence has no polygon")
    merged = shapely.union_all(polygons) if len(polygons) > 1 else polygons[0]
    if not isinstance(merged, Polygon | MultiPolygon) or merged.is_empty:
        raise InvalidGeofence("the geofence's polygons enclose no area")
    return Geofence(merged)


class _VertexCounter:
    def __init__(self) -> None:
        self.count = 0

    def add(self, n: int) -> None:
        self.count += n
        if self.count > MAX_VERTICES:
            raise InvalidGeofence(f"the geofence has more than {MAX_VERTICES} vertices")


def _polygons_of(obj: object, path: str, counter: _VertexCounter) -> list[Polygon]:
    where = path or "the geofence"
    if not isinstance(obj, Mapping):
        raise InvalidGeofence(f"{where} must be a GeoJSON object: {_ACCEPTED}")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list) or not features:
            raise InvalidGeofence(f"{_at(path, 'features')} must be a non-empty array")
        polygons: list[Polygon] = []
        for i, feature in enumerate(features):
            feature_path = _at(path, f"features[{i}]")
            if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
                raise InvalidGeofence(f"{feature_path} must be a GeoJSON Feature")
            polygons.extend(_polygons_of(feature, feature_path, counter))
        return polygons
    if kind == "Feature":
        geometry = obj.get("geometry")
        geometry_path = _at(path, "geometry")
        if geometry is None:
            raise InvalidGeofence(f"{geometry_path} is null: a geofence needs a Polygon")
        if not isinstance(geometry, Mapping) or geometry.get("type") not in _GEOMETRY_TYPES:
            found = geometry.get("type") if isinstance(geometry, Mapping) else geometry
            raise InvalidGeofence(
                f"{geometry_path} must be a Polygon or MultiPolygon, not {found!r}"
            )
        return _polygons_of(geometry, geometry_path, counter)
    if kind not in _GEOMETRY_TYPES:
        raise InvalidGeofence(f"{where} has type {kind!r}; a geofence is {_ACCEPTED}")
    coordinates_path = _at(path, "coordinates")
    coordinates = obj.get("coordinates")
    if kind == "Polygon":
        polygon = _polygon(coordinates, coordinates_path, counter)
        _check_valid(polygon, where)
        return [polygon]
    parts = _array(coordinates, coordinates_path, "an array of polygons", minimum=1)
    polygons = [_polygon(part, f"{coordinates_path}[{i}]", counter) for i, part in enumerate(parts)]
    for i, polygon in enumerate(polygons):
        _check_valid(polygon, f"{coordinates_path}[{i}]")
    _check_valid(MultiPolygon(polygons), where)
    return polygons


def _polygon(coordinates: object, path: str, counter: _VertexCounter) -> Polygon:
    rings = _array(coordinates, path, "an array of linear rings", minimum=1)
    shell, *holes = (_ring(ring, f"{path}[{i}]", counter) for i, ring in enumerate(rings))
    return Polygon(shell, holes)


def _ring(coordinates: object, path: str, counter: _VertexCounter) -> list[tuple[float, float]]:
    positions = _array(coordinates, path, "a linear ring of positions", minimum=4)
    counter.add(len(positions))
    ring = [_position(p, f"{path}[{i}]") for i, p in enumerate(positions)]
    if ring[0] != ring[-1]:
        raise InvalidGeofence(
            f"{path} is not closed: its last position {list(ring[-1])} must repeat "
            f"its first {list(ring[0])}"
        )
    return ring


def _position(value: object, path: str) -> tuple[float, float]:
    numbers = _array(value, path, "a position [longitude, latitude]", minimum=2)
    if len(numbers) > 3 or not all(_is_number(n) for n in numbers):
        raise InvalidGeofence(
            f"{path} must be [longitude, latitude] in numbers, got {_brief(value)}"
        )
    lon, lat = float(numbers[0]), float(numbers[1])
    if not -180.0 <= lon <= 180.0:
        raise InvalidGeofence(f"{path}: longitude {lon} is outside -180..180")
    if not -90.0 <= lat <= 90.0:
        raise InvalidGeofence(
            f"{path}: latitude {lat} is outside -90..90 (GeoJSON positions are [lon, lat])"
        )
    return lon, lat


def _array(value: object, path: str, what: str, *, minimum: int) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidGeofence(f"{path} must be {what}, got {type(value).__name__}")
    if len(value) < minimum:
        raise InvalidGeofence(
            f"{path} must be {what} with at least {minimum} entries, got {len(value)}"
        )
    return value


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _check_valid(geometry: Polygon | MultiPolygon, where: str) -> None:
    if not geometry.is_valid:
        raise InvalidGeofence(f"{where} is not a valid area: {explain_validity(geometry)}")
    if geometry.area == 0:
        raise InvalidGeofence(f"{where} encloses no area")


def _brief(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _at(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member
