"""A patrol's track: the points a phone sends, checked, and the length and duration they give.

A point is ``{"lat": …, "lon": …, "t": "2026-12-07T09:30:00"}`` (WGS 84 degrees, the time in
Beijing time — an offset is converted, none means Beijing). Points arrive in batches while the
patrol is open; each batch is checked whole before any of it is kept: numbers in range, times
not before the previous point's, the batch and the patrol within their size limits
(:class:`~bishui.rivers.rules.Rules`). Distance is the sum of the great-circle legs
(:func:`bishui.enforcement.inspection.distance_m`, a sphere — metres at the scale of a walk).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from bishui.enforcement.inspection import distance_m
from bishui.errors import InputError, TooLarge
from bishui.timeutil import to_beijing_naive

Point = tuple[float, float, dt.datetime]


def _number(v: Any, name: str, bound: float, i: int) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise InputError(f"points[{i}].{name}", "a number", repr(v)[:50])
    if not -bound <= v <= bound:
        raise InputError(f"points[{i}].{name}", f"between -{bound} and {bound}", v)
    return float(v)


def _time(v: Any, i: int) -> dt.datetime:
    if isinstance(v, dt.datetime):
        t = v
    elif isinstance(v, str) and len(v) <= 40:
        try:
            t = dt.datetime.fromisoformat(v)
        except ValueError:
            raise InputError(f"points[{i}].t", "an ISO 8601 date-time", v) from None
    else:
        raise InputError(f"points[{i}].t", "an ISO 8601 date-time", repr(v)[:50])
    t = to_beijing_naive(t) if t.tzinfo is not None else t
    return t.replace(microsecond=0)


def check_points(raw: Any, before: Sequence[Point], *, per_request: int, total: int) -> list[Point]:
    """The batch *raw* as points, checked against the *before* points of the patrol."""
    if not isinstance(raw, list | tuple):
        raise InputError("points", "a list of {lat, lon, t}", repr(raw)[:100])
    if not raw:
        raise InputError("points", "at least one point", 0)
    if len(raw) > per_request:
        raise TooLarge("points", f"at most {per_request} points in one request", len(raw))
    if len(before) + len(raw) > total:
        raise TooLarge("points", f"at most {total} points in one patrol", len(before) + len(raw))
    out: list[Point] = []
    last = before[-1][2] if before else None
    for i, p in enumerate(raw):
        if not isinstance(p, Mapping):
            raise InputError(f"points[{i}]", "an object {lat, lon, t}", repr(p)[:50])
        lat = _number(p.get("lat"), "lat", 90, i)
        lon = _number(p.get("lon"), "lon", 180, i)
        t = _time(p.get("t"), i)
        if last is not None and t < last:
            raise InputError(f"points[{i}].t", "not before the previous point", t.isoformat())
        out.append((lat, lon, t))
        last = t
    return out


def length_m(points: Sequence[Point]) -> float:
    """The track's length: the sum of its legs [m]."""
    return sum(distance_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(points))


def duration_s(points: Sequence[Point]) -> int:
    """From the first point to the last [s]."""
    return int((points[-1][2] - points[0][2]).total_seconds()) if len(points) > 1 else 0


def as_json(points: Sequence[Point]) -> list[list[Any]]:
    return [[lat, lon, t.isoformat()] for lat, lon, t in points]


def from_json(rows: Sequence[Sequence[Any]]) -> list[Point]:
    return [(float(r[0]), float(r[1]), dt.datetime.fromisoformat(r[2])) for r in rows]
