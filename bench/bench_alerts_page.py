"""Benchmark: the alerts page's grouped listing and the delivery outbox.

Data: ``--alerts`` alerts (default 6,500, the size of the two-year demo's 6,496) raised through
:func:`bishui.enforcement.service.raise_alerts` into a fresh DuckDB store: 100 outlets, three
rules, one alert an hour spread over two years, all from history except the last batch.

Measured (wall time, best of five):

* **groups, first page**: :func:`bishui.enforcement.delivery.alert_groups` — 50 groups of site,
  rule and day with counts, highest severity, site and region names, paged by the store;
* **groups, page 21**: the same at offset 1,000;
* **baseline, raw page**: :func:`bishui.enforcement.service.list_alerts`, 50 alerts ungrouped
  (what the API listed before);
* **deliver 100 (log)**: one delivery pass of 100 pending outbox rows to the log channel
  (claim, send, record).

Printed: each time and the grouped page's ratio to the raw page; the number of outbox rows the
history made (only live alerts notify: it should be the last batch's digest only).

``--short``: 1,000 alerts (CI).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.app import open_store
from bishui.enforcement import delivery as dl
from bishui.enforcement import service as enf
from bishui.enforcement.intake import AlertIn
from bishui.enforcement.senders import LogChannel, Registry

NOW = dt.datetime(2026, 12, 7, 12, 0)


def best(f: object, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        f()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--alerts", type=int, default=6500)
    args = ap.parse_args()
    n = 1000 if args.short else args.alerts
    with tempfile.TemporaryDirectory() as d:
        store = open_store(Path(d) / "bench.duckdb")
        step = dt.timedelta(days=730) / n
        alerts = []
        for i in range(n):
            g = i // 3  # three alerts an hour apart per group (site, rule, day), as episodes come
            end = (
                NOW
                - dt.timedelta(hours=1)
                - step * 3 * ((n - 1 - i) // 3)
                - dt.timedelta(hours=2 - i % 3)
            )
            alerts.append(
                AlertIn(
                    key=f"{i:020x}",
                    rule_id=("EXC", "FLAT", "CALSHARE")[g % 3],
                    severity=("high", "medium", "low")[g % 3],
                    site_code=f"S{g % 100:03d}",
                    pollutant="a21026",
                    start=end - dt.timedelta(hours=1),
                    end=end,
                    outlet_id="DA001",
                    uscc=f"U{g % 100:03d}",
                )
            )
        regions = {f"S{i:03d}": "420822" for i in range(100)}
        t = time.perf_counter()
        enf.raise_alerts(
            store,
            alerts,
            regions,
            now=NOW,
            options=enf.LoopOptions(task_min_severity="high", auto_assign=False),
        )
        raise_s = time.perf_counter() - t
        alert_msgs = store.query(
            "SELECT COUNT(*) AS n FROM enforcement_delivery WHERE task_id IS NULL"
        )[0]["n"]
        task_msgs = store.query(
            "SELECT COUNT(*) AS n FROM enforcement_delivery WHERE task_id IS NOT NULL"
        )[0]["n"]
        flt = dl.AlertFilter()
        g1 = best(lambda: dl.alert_groups(store, "TRUE", [], flt, limit=50, offset=0))
        g21 = best(lambda: dl.alert_groups(store, "TRUE", [], flt, limit=50, offset=1000))
        raw = best(lambda: enf.list_alerts(store, limit=50, offset=0))
        total, _ = dl.alert_groups(store, "TRUE", [], flt, limit=1, offset=0)
        rows = [
            [NOW, "log", "group", f"s{i}", "b", None, None, None, "pending", 0, NOW, None, None]
            for i in range(100)
        ]
        with store.transaction() as tx:
            tx.execute_many(
                "INSERT INTO enforcement_delivery (created, channel, recipient, subject, body, "
                "alert_id, task_id, route_id, status, attempts, next_at, last_error, sent_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        t = time.perf_counter()
        report = dl.deliver_due(store, Registry({"log": LogChannel()}), NOW)
        deliver_s = time.perf_counter() - t
        store.close()
    print(
        f"alerts {n}, groups {total}; raise_alerts {raise_s:.2f} s; outbox: {alert_msgs} "
        f"alert messages (the live batch's digests only), {task_msgs} in-app task messages"
    )
    print(f"groups, first page   {g1 * 1000:8.1f} ms  ({g1 / raw:.1f}× the raw page)")
    print(f"groups, page 21      {g21 * 1000:8.1f} ms  ({g21 / raw:.1f}× the raw page)")
    print(f"baseline, raw page   {raw * 1000:8.1f} ms")
    print(f"deliver 100 (log)    {deliver_s * 1000:8.1f} ms  (sent {report.sent})")
    return 0 if report.sent == 100 else 1


if __name__ == "__main__":
    sys.exit(main())
