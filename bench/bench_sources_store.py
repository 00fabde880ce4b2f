"""Benchmark: the source checks over a year of hourly data read from the store.

Data: the model city's flue-gas outlets' hourly history (``bishui.demo``: SO2, NOx, dust, O2,
flow — the simulator's own series, exceedances and faults included), copied to ``--outlets``
outlets (each copy scaled by its own factor 1 + 0.001·i so no two curves are twins), every
outlet with a permit (GB 13223 / GB 4915 / GB 13271 limits of the model city). Stored in a
fresh DuckDB file. The model city keeps hourly history, so this measures the hourly path
(:func:`bishui.sources.check.check_block` with ``resolution="hour"``); the minute path at
issue 6's size (a year of minute data for 1,000 outlets) is ``bench_sources_minutes.py``.

Measured: wall time (best of one run each, in this order), then in a second pass the peak
Python/numpy memory by ``tracemalloc``:

* **bishui checks**: the read and every rule of :func:`bishui.sources.service.run_checks`
  (EXC hour and day, O2REF, MASS, NOPERMIT, FLAT, STUCK, ZFLOW, ZCONC, DILUTE, CALSHARE,
  GAPX, RANGE, then TWIN pooled), nothing stored — comparable with the baseline;
* **bishui run_checks**: the whole run, findings and daily masses stored, CAP (alerts off);
* **baseline, per-row**: the straightforward implementation — the same rows read from the store
  outlet by outlet, ordered by time, then a Python loop over every row doing only O2 conversion, the
  hourly exceedance test with event merging and the daily mass (a fraction of the rules).

``--short``: 8 outlets × 30 days (CI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.app import open_store
from bishui.demo import city, history
from bishui.demo.city_permits import _limits
from bishui.registry import uscc
from bishui.sources import service
from bishui.sources.permit_store import record_permits
from bishui.sources.permits import ManagementClass, Outlet, Permit
from bishui.store import Store

GAS = ("a00000", "a34013", "a21026", "a21002", "a19001")


def build(store: Store, n: int, start: dt.datetime, days: int) -> int:
    model = city.build()
    templates = [s for s in model.registry.sites if s.kind == "source_gas"]
    hours = history.hour_range(start, start + dt.timedelta(days=days))
    ts = hours.astype("datetime64[h]").astype("datetime64[us]")
    series = {t.id: model.series(t.id, hours)[0] for t in templates}
    store.upsert(
        "regions", [{"code": "420800", "name": "荆门市", "kind": "city", "central": False}]
    )
    ents, sites, permits = [], [], []
    rows = 0
    for i in range(n):
        tpl = templates[i % len(templates)]
        code = uscc.generate("420802", 900_000 + i)
        sid = f"B{i:05d}-DA001"
        ents.append({"uscc": code, "name": f"基准企业{i}", "industry": "bench", "region": "420800",
                     "key_unit": True})  # fmt: skip
        sites.append({"id": sid, "kind": "source_gas", "name": sid, "region": "420800",
                      "enterprise": code, "outlet": "DA001", "drinking_source": False,
                      "assessment": False})  # fmt: skip
        prof = model.outlets[tpl.id]
        outlet = Outlet("DA001", _limits(model.limits[tpl.id], prof.limits, True, False))
        permits.append(Permit(code + "001P", 1, code, f"基准企业{i}", ManagementClass.KEY,
                              dt.date(2024, 1, 1), dt.date(2028, 12, 31), (outlet,),
                              {"a21026": Decimal(500)}))  # fmt: skip
        scale = 1.0 + 0.001 * i
        parts: dict[str, list[Any]] = {k: [] for k in ("parameter", "ts", "value", "flag")}
        for p in GAS:
            v, f = series[tpl.id][p]
            keep = ~np.isnan(v)
            parts["parameter"].append(np.full(int(keep.sum()), p, dtype=object))
            parts["ts"].append(ts[keep])
            parts["value"].append(np.round(v[keep] * (scale if p != "a19001" else 1.0), 2))
            parts["flag"].append(f[keep])
        cols = {k: np.concatenate(v) for k, v in parts.items()}
        m = len(cols["value"])
        nan = np.full(m, np.nan)
        cols.update(site_id=np.full(m, sid, dtype=object), period=np.full(m, "hour", dtype=object),
                    origin=np.full(m, "logger", dtype=object), vmin=nan, vmax=nan, cou=nan,
                    valid=cols["flag"] == "N", n_valid=np.full(m, -1, dtype=np.int32),
                    source=np.full(m, "bench", dtype=object), received_at=cols["ts"])  # fmt: skip
        rows += store.write_measurements(cols)
    store.upsert("enterprises", ents)
    store.upsert("sites", sites)
    record_permits(store, permits)
    return rows


def baseline(store: Store, start: dt.datetime, end: dt.datetime) -> tuple[int, float]:
    """Per-row Python: O2 conversion, hourly EXC with merging, daily mass. Returns (events, t)."""
    limits: dict[tuple[str, str], tuple[float, float]] = {}
    for r in store.query("SELECT body FROM source_permit"):
        import json

        d = json.loads(r["body"])
        for lim in d["outlets"][0]["limits"]:
            ref = float(lim["reference_o2"] or math.nan)
            limits[(d["uscc"], lim["pollutant"])] = (float(lim["value"]), ref)
    ent = {r["id"]: r["enterprise"] for r in store.query("SELECT id, enterprise FROM sites")}
    events = 0
    mass: dict[tuple[str, str, dt.date], float] = {}
    cur: dict[str, dict[str, Any]] = {}  # site → {ts, values…}
    open_run: dict[tuple[str, str], dt.datetime] = {}

    def flush(site: str, hour: dict[str, Any]) -> None:
        nonlocal events
        o2, q = hour.get("a19001"), hour.get("a00000")
        for p in ("a34013", "a21026", "a21002"):
            c = hour.get(p)
            lim = limits.get((ent[site], p))
            key = (site, p)
            exceeded = False
            if c is not None and lim is not None and o2 is not None and o2 < 21:
                conv = c * (21 - lim[1]) / (21 - o2)
                exceeded = conv > lim[0]
            if exceeded and key not in open_run:
                open_run[key] = hour["ts"]
                events += 1
            elif not exceeded:
                open_run.pop(key, None)
            if c is not None and q is not None:
                k = (site, p, hour["ts"].date())
                mass[k] = mass.get(k, 0.0) + c * q * 3600 * 1e-9

    for site in sorted(ent):  # one outlet at a time: memory stays bounded
        rows = store.query(
            "SELECT parameter, ts, value, flag FROM measurement WHERE site_id = ? "
            "AND period = 'hour' AND ts >= ? AND ts < ? ORDER BY ts",
            [site, start, end],
        )
        for r in rows:
            h = cur.get(site)
            if h is None or h["ts"] != r["ts"]:
                if h is not None:
                    flush(site, h)
                h = cur[site] = {"ts": r["ts"]}
            if r["flag"] == "N" and r["value"] is not None:
                h[r["parameter"]] = r["value"]
        if site in cur:
            flush(site, cur.pop(site))
    return events, len(mass)


def checks_only(store: Store, start: dt.datetime, end: dt.datetime) -> int:
    """The read and every rule of :func:`service.run_checks`, without storing anything (the
    part comparable with the per-row baseline, which stores nothing either)."""
    import numpy as np

    from bishui.sources import fraud
    from bishui.sources.permit_store import load_permits
    from bishui.sources.rules import load_ruleset
    from bishui.sources.store_data import outlet_sites

    rules, opts = load_ruleset(), service.CheckOptions(raise_alerts=False)
    permits = load_permits(store)
    sites = outlet_sites(store, permits)
    days = (end - start).days
    pool = service._Pool()
    found = []
    for i in range(0, len(sites), opts.block_outlets_hour):
        found += service._run_block(store, rules, permits, sites[i : i + opts.block_outlets_hour],
                                    "hour", start, days, opts, pool)  # fmt: skip
    for (_, pol), items in pool.twins.items():
        found += fraud.check_twins(rules, [r for r, _ in items], pol, start,
                                   np.stack([x for _, x in items]))  # fmt: skip
    return len(found)


def timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def peak_mib(fn: Any) -> float:
    """Peak Python + numpy allocations of *fn* (a second, untimed pass: tracemalloc slows
    allocation-heavy code)."""
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--outlets", type=int, default=200)
    ap.add_argument("--days", type=int, default=365)
    a = ap.parse_args()
    n, days = (8, 30) if a.short else (a.outlets, a.days)
    start = dt.datetime(2025, 11, 1)
    end = start + dt.timedelta(days=days)
    with tempfile.TemporaryDirectory() as d:
        store = open_store(Path(d) / "bench.duckdb")
        t0 = time.perf_counter()
        rows = build(store, n, start, days)
        print(f"store: {n} outlets × {days} days hourly, {rows:,} rows, built in "
              f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
        opts = service.CheckOptions(raise_alerts=False)
        n_c, t_c = timed(lambda: checks_only(store, start, end))
        r, t_b = timed(lambda: service.run_checks(store, start, end, options=opts, now=end))
        (ev, _), t_p = timed(lambda: baseline(store, start, end))
        m_c = peak_mib(lambda: checks_only(store, start, end))
        m_p = peak_mib(lambda: baseline(store, start, end))
        store.close()
    print(f"bishui read + all rules, nothing stored: {t_c:8.2f} s  peak {m_c:7.1f} MiB  "
          f"{n_c} findings")  # fmt: skip
    exc = sum(f.rule_id == "EXC" for f in r.findings)
    print(f"bishui run_checks, findings stored:      {t_b:8.2f} s                   "
          f"{len(r.findings)} findings ({exc} EXC)")  # fmt: skip
    print(f"baseline per-row read + EXC + mass:      {t_p:8.2f} s  peak {m_p:7.1f} MiB  "
          f"{ev} EXC events")  # fmt: skip
    print(f"ratio baseline / bishui checks: {t_p / t_c:.2f}× time; storing the findings adds "
          f"{t_b - t_c:.1f} s; {rows / t_c:,.0f} rows/s read and checked")  # fmt: skip


if __name__ == "__main__":
    main()
