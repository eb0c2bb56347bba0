"""Where a scan happened: GB/T 2260 region codes, coordinates, and plausible travel.

A client may send coordinates or a six-digit GB/T 2260 administrative division code
(``330106``). A region code is placed at its province's capital, which can be off by
several hundred kilometres, so travel checks subtract `REGION_UNCERTAINTY_KM` for each
end given only as a region.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime

REGION_UNCERTAINTY_KM = 400.0
_EARTH_RADIUS_KM = 6371.0

# Province-level divisions: code prefix -> (Chinese name, English name, capital lat, lon).
PROVINCES: dict[str, tuple[str, str, float, float]] = {
    "11": ("北京市", "Beijing", 39.90, 116.40),
    "12": ("天津市", "Tianjin", 39.13, 117.20),
    "13": ("河北省", "Hebei", 38.04, 114.51),
    "14": ("山西省", "Shanxi", 37.87, 112.55),
    "15": ("内蒙古自治区", "Inner Mongolia", 40.84, 111.75),
    "21": ("辽宁省", "Liaoning", 41.80, 123.43),
    "22": ("吉林省", "Jilin", 43.82, 125.32),
    "23": ("黑龙江省", "Heilongjiang", 45.80, 126.53),
    "31": ("上海市", "Shanghai", 31.23, 121.47),
    "32": ("江苏省", "Jiangsu", 32.06, 118.80),
    "33": ("浙江省", "Zhejiang", 30.27, 120.15),
    "34": ("安徽省", "Anhui", 31.82, 117.23),
    "35": ("福建省", "Fujian", 26.07, 119.30),
    "36": ("江西省", "Jiangxi", 28.68, 115.86),
    "37": ("山东省", "Shandong", 36.65, 117.12),
    "41": ("河南省", "Henan", 34.75, 113.63),
    "42": ("湖北省", "Hubei", 30.59, 114.31),
    "43": ("湖南省", "Hunan", 28.23, 112.94),
    "44": ("广东省", "Guangdong", 23.13, 113.26),
    "45": ("广西壮族自治区", "Guangxi", 22.82, 108.37),
    "46": ("海南省", "Hainan", 20.04, 110.34),
    "50": ("重庆市", "Chongqing", 29.56, 106.55),
    "51": ("四川省", "Sichuan", 30.57, 104.07),
    "52": ("贵州省", "Guizhou", 26.65, 106.63),
    "53": ("云南省", "Yunnan", 25.04, 102.71),
    "54": ("西藏自治区", "Tibet", 29.65, 91.13),
    "61": ("陕西省", "Shaanxi", 34.34, 108.94),
    "62": ("甘肃省", "Gansu", 36.06, 103.83),
    "63": ("青海省", "Qinghai", 36.62, 101.78),
    "64": ("宁夏回族自治区", "Ningxia", 38.49, 106.23),
    "65": ("新疆维吾尔自治区", "Xinjiang", 43.83, 87.62),
    "71": ("台湾省", "Taiwan", 25.03, 121.56),
    "81": ("香港特别行政区", "Hong Kong", 22.32, 114.17),
    "82": ("澳门特别行政区", "Macao", 22.20, 113.54),
}
_CODE = re.compile(r"\d{6}")


class InvalidRegion(ValueError):
    """Not a GB/T 2260 code of a known province."""


def check_region(code: str) -> str:
    """A six-digit GB/T 2260 code whose province exists; InvalidRegion otherwise."""
    if not _CODE.fullmatch(code):
        raise InvalidRegion(f"a GB/T 2260 region code has six digits, got {code!r}")
    if code[:2] not in PROVINCES:
        raise InvalidRegion(f"{code[:2]} is not a GB/T 2260 province code")
    return code


def region_name(code: str | None, lang: str) -> str | None:
    """The province's name in ``lang`` ("zh" or "en") and the code, for display."""
    if code is None:
        return None
    province = PROVINCES.get(code[:2])
    if province is None:
        return code
    return f"{province[0] if lang == 'zh' else province[1]} ({code})"


@dataclass(frozen=True)
class Place:
    """A point, and whether it is only a province's capital standing in for a region."""

    lat: float
    lon: float
    approximate: bool


def place_of(lat: float | None, lon: float | None, region: str | None) -> Place | None:
    """Coordinates if given, else the region's province capital, else None."""
    if lat is not None and lon is not None:
        return Place(lat, lon, approximate=False)
    if region is not None and region[:2] in PROVINCES:
        _, _, plat, plon = PROVINCES[region[:2]]
        return Place(plat, plon, approximate=True)
    return None


def distance_km(a: Place, b: Place) -> float:
    """Great-circle distance (haversine)."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * _EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def implausible_travel(
    before: Place, before_at: datetime, after: Place, after_at: datetime, max_speed_kmh: float
) -> float | None:
    """The distance in km if no one could have carried the item between the two scans."""
    distance = distance_km(before, after)
    margin = REGION_UNCERTAINTY_KM * (before.approximate + after.approximate)
    if distance - margin <= 50.0:
        return None
    hours = max(0.0, (after_at - before_at).total_seconds() / 3600)
    if (distance - margin) > max_speed_kmh * hours:
        return distance
    return None
