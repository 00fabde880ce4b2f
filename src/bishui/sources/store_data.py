"""Outlets and their data from the store, as the regular grids the checks expect.

The registry knows an outlet as a site (``sites.kind`` ``source_gas`` / ``source_water``, with
its enterprise's credit code and its HJ 608 outlet code); the checks know it as
:class:`~bishui.sources.findings.OutletRef` ``(site code, outlet id)`` where the site code is
the permit number without its identifier (credit code + 3-digit site sequence). The site code
comes from the stored permit of that enterprise listing the outlet; an enterprise without one
gets ``<credit code>001`` (so discharge without a permit is still found).

:func:`load_grids` reads one block of outlets with one SQL query and lays the rows onto
``(outlets, periods)`` grids from 00:00 with NaN and the no-record flag where nothing came —
vectorised, no per-row Python. One value per outlet, channel and period by the read model's
origin precedence (:mod:`bishui.readings`: the logger's, else the platform's, else an
upload's). Flows are converted to m³/h from the logger's unit (HJ 212-2017 Appendix B: flue
gas m³/s, wastewater L/s; the device's registered unit decides).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from bishui import readings
from bishui.errors import InputError
from bishui.sources import flags as fl
from bishui.sources import pollutants
from bishui.sources.findings import OutletRef
from bishui.sources.permits import Permit
from bishui.store import Store

#: Unit of a flow channel → factor to m³/h.
FLOW_FACTORS = {"m³/s": 3600.0, "m3/s": 3600.0, "L/s": 3.6, "l/s": 3.6, "m³/h": 1.0, "m3/h": 1.0}
#: The HJ 212-2017 Appendix B transmission unit of each flow code (when no device says).
FLOW_DEFAULT_UNIT = {"a00000": "m³/s", "w00000": "L/s"}
FLOW_CODES = tuple(FLOW_DEFAULT_UNIT)
O2_CODE = "a19001"
STEP = {"min": 60, "hour": 3600}  # seconds per period


@dataclass(frozen=True)
class OutletSite:
    """One outlet as the registry and the checks know it."""

    site_id: str
    kind: str  # source_gas | source_water
    ref: OutletRef
    uscc: str
    region: str | None


def outlet_sites(
    store: Store, permits: Sequence[Permit], site_ids: Sequence[str] | None = None
) -> list[OutletSite]:
    """Every registered outlet with an enterprise and an outlet code (optionally some)."""
    rows = store.query(
        "SELECT id, kind, enterprise, outlet, region FROM sites WHERE kind IN "
        "('source_gas', 'source_water') AND enterprise IS NOT NULL AND outlet IS NOT NULL "
        "ORDER BY id"
    )
    wanted = None if site_ids is None else set(site_ids)
    by_uscc: dict[str, list[Permit]] = {}
    for p in permits:
        by_uscc.setdefault(p.uscc, []).append(p)
    out = []
    for r in rows:
        if wanted is not None and r["id"] not in wanted:
            continue
        mine = by_uscc.get(r["enterprise"], [])
        listing = [p for p in mine if p.outlet(r["outlet"]) is not None] or mine
        code = min(p.site_code for p in listing) if listing else r["enterprise"] + "001"
        out.append(OutletSite(r["id"], r["kind"], OutletRef(code, r["outlet"]), r["enterprise"],
                              r["region"]))  # fmt: skip
    return out


def sites_with_minutes(
    store: Store, site_ids: Sequence[str], start: dt.datetime, end: dt.datetime
) -> set[str]:
    """The outlets that sent minute data in ``[start, end)`` (checked on minutes)."""
    if not site_ids:
        return set()
    marks = ", ".join("?" for _ in site_ids)
    rows = store.query(
        f"SELECT DISTINCT site_id FROM measurement WHERE period = 'min' AND site_id IN ({marks}) "  # noqa: S608
        "AND ts >= ? AND ts < ?",
        [*site_ids, start, end],
    )
    return {r["site_id"] for r in rows}


def instrument_ranges(
    store: Store, site_ids: Sequence[str]
) -> dict[tuple[str, str], tuple[float, float, str]]:
    """``(site, parameter) → (range_min, range_max, unit)`` of the registered loggers."""
    if not site_ids:
        return {}
    marks = ", ".join("?" for _ in site_ids)
    rows = store.query(
        "SELECT d.site_id, p.parameter, p.range_min, p.range_max, p.unit FROM device_parameters p "  # noqa: S608
        f"JOIN devices d ON d.mn = p.mn WHERE d.site_id IN ({marks})",
        list(site_ids),
    )
    nan = float("nan")
    return {
        (r["site_id"], r["parameter"]): (
            nan if r["range_min"] is None else float(r["range_min"]),
            nan if r["range_max"] is None else float(r["range_max"]),
            r["unit"] or "",
        )
        for r in rows
    }


@dataclass(frozen=True)
class Grids:
    """One block's data: ``values[code]`` and ``flags[code]`` shaped (outlets, periods)."""

    start: dt.datetime
    period: str
    values: dict[str, NDArray[np.float64]]
    flags: dict[str, NDArray[np.uint8]]
    present: dict[str, NDArray[np.bool_]]  # outlet rows with any record of the code


def load_grids(
    store: Store,
    site_ids: Sequence[str],
    period: str,
    start: dt.datetime,
    days: int,
    flow_units: dict[tuple[str, str], str] | None = None,
) -> Grids:
    """Read ``[start, start + days)`` of *period* data of *site_ids* into grids.

    Parameters
    ----------
    period : {"min", "hour"}
    start : datetime
        00:00 of the first day (naive Beijing time, as stored).
    flow_units : dict, optional
        ``(site, flow code) → unit`` as registered; default the HJ 212 unit of the code.
    """
    if period not in STEP:
        raise InputError("period", "min or hour", period)
    if start.time() != dt.time():
        raise InputError("start", "a grid starts at 00:00", start.isoformat())
    per = days * 86400 // STEP[period]
    end = start + dt.timedelta(days=days)
    o = len(site_ids)
    values: dict[str, NDArray[np.float64]] = {}
    flags: dict[str, NDArray[np.uint8]] = {}
    present: dict[str, NDArray[np.bool_]] = {}
    if not o:
        return Grids(start, period, values, flags, present)
    # One value per (code, outlet, period) by the read model's origin precedence, with the
    # outlet, channel and flag coded to small integers in SQL (bishui.readings: DuckDB's numpy
    # result, PostgreSQL's binary arrays) — no per-row Python, no string sorting. Channels are
    # those the checks know (pollutants.table(): the others are skipped by the checks anyway).
    codes = sorted(pollutants.table())
    got = readings.select(
        store,
        site_ids,
        codes,
        start,
        end,
        periods=(period,),
        flags=fl.FLAG_CHARS[:-1],
        ordered=False,
    )
    if not len(got):
        return Grids(start, period, values, flags, present)
    assert got.flag_code is not None
    rows = got.site.astype(np.int64)
    code_i = got.parameter.astype(np.int64)
    t0 = np.datetime64(start, "s")
    col = (got.ts.astype("datetime64[s]") - t0).astype(np.int64) // STEP[period]
    val = got.value
    fcodes = got.flag_code.astype(np.uint8)  # FLAG_CHARS[:-1] index; len(…) is fl.MISSING
    # Group the rows by channel once (a stable sort), rather than one mask per channel.
    by_code = np.argsort(code_i, kind="stable")
    bounds = np.searchsorted(code_i[by_code], np.arange(len(codes) + 1))
    for ci in np.flatnonzero(np.diff(bounds)).tolist():
        code = codes[ci]
        sel = by_code[bounds[ci] : bounds[ci + 1]]
        r, c = rows[sel], col[sel]
        v = np.full((o, per), np.nan)
        f = np.full((o, per), fl.MISSING, dtype=np.uint8)
        v[r, c] = val[sel]
        f[r, c] = fcodes[sel]
        if code in FLOW_DEFAULT_UNIT:
            v *= np.array([_flow_factor(s, code, flow_units) for s in site_ids])[:, None]
        values[code], flags[code] = v, f
        pr = np.zeros(o, dtype=bool)
        pr[r] = True
        present[code] = pr
    return Grids(start, period, values, flags, present)


def _flow_factor(site: str, code: str, units: dict[tuple[str, str], str] | None) -> float:
    unit = (units or {}).get((site, code)) or FLOW_DEFAULT_UNIT[code]
    try:
        return FLOW_FACTORS[unit]
    except KeyError:
        raise InputError(
            f"{site}.{code}.unit",
            "a flow unit the checks convert: " + ", ".join(FLOW_FACTORS),
            unit,
        ) from None
