"""The human side of an audit bundle: summary.html and README.txt, rendered with Jinja2.

The writer feeds every entry to an `ActivityTally`, which keeps only counts
(per kind, per UTC day) and the first alerts, so memory stays flat. The
templates ship as package data in ``compliance/templates``; the page has no
JavaScript and no external assets, its chart is inline SVG.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

import jinja2

from compliance._wire import format_utc

__all__ = ["ActivityTally", "CheckpointRow", "is_alert_kind", "render_readme", "render_summary"]

_MAX_BARS = 92
_CHART_WIDTH, _CHART_HEIGHT = 760, 220
_CHART_LEFT, _CHART_TOP, _CHART_BOTTOM = 56, 12, 28


def is_alert_kind(kind: str) -> bool:
    """Whether an entry kind is an alert: one of its dot-separated parts starts with "alert".

    For example ``alert.raised``, ``diversion.alert``, ``scan.alert_clone``.
    """
    return any(part.startswith("alert") for part in kind.split("."))


@dataclass
class ActivityTally:
    """Counts of entries by kind and by UTC day, and the first `max_alerts` alerts."""

    max_alerts: int = 200
    kinds: Counter[str] = field(default_factory=Counter)
    days: Counter[date] = field(default_factory=Counter)
    alert_days: set[date] = field(default_factory=set)
    alerts: list[tuple[int, str, datetime]] = field(default_factory=list)
    alert_count: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, seq: int, kind: str, at: datetime, alert: bool) -> None:
        """Count one entry (`at` aware UTC)."""
        self.kinds[kind] += 1
        day = at.date()
        self.days[day] += 1
        if self.first_seq is None:
            self.first_seq = seq
        self.last_seq = seq
        if self.first_at is None or at < self.first_at:
            self.first_at = at
        if self.last_at is None or at > self.last_at:
            self.last_at = at
        if alert:
            self.alert_count += 1
            self.alert_days.add(day)
            if len(self.alerts) < self.max_alerts:
                self.alerts.append((seq, kind, at))


@dataclass(frozen=True)
class CheckpointRow:
    """One checkpoint as the summary shows it."""

    size: int
    at: datetime
    root: bytes
    anchor: Mapping[str, Any] | None
    cosigners: int


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("compliance", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _month_of(day: date) -> date:
    return day.replace(day=1)


_BUCKET_START: dict[str, Callable[[date], date]] = {
    "day": lambda day: day,
    "week": _week_of,
    "month": _month_of,
}


def _buckets(tally: ActivityTally) -> tuple[str, list[tuple[str, int, bool]]]:
    """(unit, [(label, count, has_alerts)]) covering first to last day, at most _MAX_BARS bars."""
    if not tally.days:
        return "day", []
    first, last = min(tally.days), max(tally.days)
    span = (last - first).days + 1
    unit = "day" if span <= _MAX_BARS else "week" if span <= 7 * _MAX_BARS else "month"
    key = _BUCKET_START[unit]
    start = key(first)
    counts: Counter[date] = Counter()
    alerted: set[date] = set()
    for day, count in tally.days.items():
        counts[key(day)] += count
    for day in tally.alert_days:
        alerted.add(key(day))
    labels: list[tuple[str, int, bool]] = []
    cursor = start
    while cursor <= last:
        label = cursor.strftime("%Y-%m") if unit == "month" else cursor.isoformat()
        labels.append((label, counts[cursor], cursor in alerted))
        if unit == "day":
            cursor += timedelta(days=1)
        elif unit == "week":
            cursor += timedelta(days=7)
        else:
            cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    return unit, labels


def _chart(tally: ActivityTally) -> dict[str, Any]:
    unit, buckets = _buckets(tally)
    base = _CHART_HEIGHT - _CHART_BOTTOM
    chart: dict[str, Any] = {
        "unit": unit,
        "width": _CHART_WIDTH,
        "height": _CHART_HEIGHT,
        "left": _CHART_LEFT,
        "top": _CHART_TOP,
        "base": base,
        "bars": [],
        "ticks": [],
        "peak": 0,
    }
    if not buckets:
        return chart
    peak = max(count for _, count, _ in buckets) or 1
    slot = (_CHART_WIDTH - _CHART_LEFT - 10) / len(buckets)
    usable = base - _CHART_TOP
    for i, (label, count, alerts) in enumerate(buckets):
        height = round(usable * count / peak, 1)
        chart["bars"].append(
            {
                "x": round(_CHART_LEFT + i * slot + slot * 0.1, 1),
                "y": round(base - height, 1),
                "w": round(max(slot * 0.8, 1.0), 1),
                "h": height,
                "label": label,
                "count": count,
                "alerts": alerts,
            }
        )
    last = len(buckets) - 1
    for i in sorted({0, last // 2, last}):
        anchor = "start" if i == 0 and last else "end" if i == last and last else "middle"
        x = _CHART_LEFT + (
            i * slot
            if anchor == "start"
            else (i + 1) * slot
            if anchor == "end"
            else (i + 0.5) * slot
        )
        chart["ticks"].append({"x": round(x, 1), "label": buckets[i][0], "anchor": anchor})
    chart["peak"] = peak
    return chart


def _filters(filters: Mapping[str, Any]) -> list[tuple[str, str]]:
    shown = []
    for name in sorted(filters):
        value = filters[name]
        if value is None or value == [] or value == "":
            continue
        shown.append((name, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))
    return shown


def _stamp(moment: datetime | None) -> str:
    return "" if moment is None else format_utc(moment)


def render_summary(
    tally: ActivityTally,
    *,
    tenant_id: str,
    log_id: str,
    created_at: datetime,
    filters: Mapping[str, Any],
    latest_size: int,
    latest_root: bytes,
    key_fingerprint: bytes,
    checkpoints: Sequence[CheckpointRow],
    witnesses: Sequence[Mapping[str, str]],
) -> bytes:
    """summary.html, as UTF-8."""
    page = (
        _environment()
        .get_template("summary.html")
        .render(
            tenant_id=tenant_id,
            log_id=log_id,
            created_at=_stamp(created_at),
            filters=_filters(filters),
            entry_count=sum(tally.kinds.values()),
            first_seq=tally.first_seq,
            last_seq=tally.last_seq,
            first_at=_stamp(tally.first_at),
            last_at=_stamp(tally.last_at),
            latest_size=latest_size,
            latest_root=latest_root.hex(),
            key_fingerprint=key_fingerprint.hex(),
            chart=_chart(tally),
            kinds=sorted(tally.kinds.items(), key=lambda kv: (-kv[1], kv[0])),
            alerts=[{"seq": s, "kind": k, "at": format_utc(a)} for s, k, a in tally.alerts],
            alert_count=tally.alert_count,
            checkpoints=[
                {
                    "size": row.size,
                    "at": format_utc(row.at),
                    "root": row.root.hex(),
                    "anchor": row.anchor,
                    "cosigners": row.cosigners,
                }
                for row in checkpoints
            ],
            witnesses=witnesses,
        )
    )
    return page.encode("utf-8")


def render_readme(
    *,
    tenant_id: str,
    log_id: str,
    created_at: datetime,
    entry_count: int,
    latest_size: int,
    latest_root: bytes,
    key_fingerprint: bytes,
) -> bytes:
    """README.txt, as UTF-8 with CRLF-free lines."""
    text = (
        _environment()
        .get_template("README.txt")
        .render(
            tenant_id=tenant_id,
            log_id=log_id,
            created_at=format_utc(created_at.astimezone(UTC)),
            entry_count=f"{entry_count:,}",
            latest_size=f"{latest_size:,}",
            latest_root=latest_root.hex(),
            key_fingerprint=key_fingerprint.hex(),
        )
    )
    return text.encode("utf-8")
