"""Benchmark: the exchange registry's transfers and the rebuild of balances from its log.

Registry: one operator, ``--accounts`` enterprise holding accounts, each issued 100,000 kg of
2026 COD emission rights. Workload: ``--transfers`` transfers between random accounts (fixed
seed), each of 1–50 kg taken first-in first-out, so blocks split and merge as they would.

Measured, in this order, in one process:

* **baseline, pure core**: the same transfers planned and applied by ``bishui.exchange.registry``
  on an in-memory state — no store, no log, no hash (what the store adds is the rest);
* **service, one client**: ``service.submit`` one after another, on DuckDB (a fresh file) and on
  PostgreSQL (a fresh schema); latency per transfer, p50 and p99, and transfers per second;
* **service under load** (PostgreSQL): ``--clients`` threads, each with its own store (its own
  connection), submitting ``--transfers`` / ``--clients`` transfers each at once; p99 of each
  transfer's latency and the aggregate rate;
* **rebuild**: the whole log read and replayed (every check re-run) to rebuild the balances,
  against reading the stored holdings tables, on both backends.

``--short``: 10 accounts, 200 transfers (CI).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bishui.app import open_store
from bishui.exchange import service
from bishui.exchange.registry import (
    AccountKind,
    AddOperator,
    Entity,
    Issue,
    OpenAccount,
    RegisterEntity,
    Select,
    State,
    Transfer,
    apply,
    balances,
    plan,
    series,
)
from bishui.registry import uscc
from bishui.store import Store

PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
OP = "op.bench"
COD = series("emission_right", "w01018", 2026, "420800")
ISSUED = 100_000


def setup_requests(n: int) -> list[tuple[Any, str]]:
    reqs: list[tuple[Any, str]] = [(AddOperator(OP), OP)]
    for i in range(n):
        code = uscc.generate("420802", 700_000 + i)
        reqs.append((RegisterEntity(Entity(code, "enterprise", f"基准企业{i}")), OP))
        reqs.append((OpenAccount(f"H{i:04d}", AccountKind.HOLDING, code, (f"u{i}",)), OP))
        reqs.append((Issue(f"H{i:04d}", COD, ISSUED, "determination"), OP))
    return reqs


def transfers(n_accounts: int, n: int, seed: int = 7) -> list[tuple[Transfer, str]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        a, b = rnd.sample(range(n_accounts), 2)
        sel = Select(COD.instrument, rnd.randint(1, 50))
        out.append((Transfer(f"H{a:04d}", f"H{b:04d}", sel), f"u{a}"))
    return out


def pure(setup: list[tuple[Any, str]], work: list[tuple[Transfer, str]]) -> list[float]:
    state, lat = State(), []
    import datetime as dt

    t0 = dt.datetime(2026, 3, 1)
    for i, (req, actor) in enumerate(setup):
        apply(state, plan(state, req, tx_id=f"s{i}", time=t0, actor=actor))
    for i, (req, actor) in enumerate(work):
        s = time.perf_counter()
        apply(state, plan(state, req, tx_id=f"t{i}", time=t0, actor=actor))
        lat.append(time.perf_counter() - s)
    return lat


def run_service(store: Store, work: list[tuple[Transfer, str]]) -> list[float]:
    lat = []
    for req, actor in work:
        s = time.perf_counter()
        service.submit(store, req, actor=actor)
        lat.append(time.perf_counter() - s)
    return lat


def run_load(
    store: Store, work: list[tuple[Transfer, str]], clients: int
) -> tuple[list[float], float]:
    schema = getattr(store, "schema", None)
    stores = [open_store(store.url, schema=schema, migrate=False) for _ in range(clients)]
    parts = [work[i::clients] for i in range(clients)]
    lats: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def go(i: int) -> None:
        barrier.wait()
        lats[i] = run_service(stores[i], parts[i])

    threads = [threading.Thread(target=go, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    for s in stores:
        s.close()
    return [x for xs in lats for x in xs], wall


def pct(xs: list[float], p: float) -> float:
    return statistics.quantiles(xs, n=100, method="inclusive")[int(p) - 1] if len(xs) > 1 else xs[0]


def line(name: str, lat: list[float], wall: float | None = None) -> None:
    wall = wall if wall is not None else sum(lat)
    print(f"{name:<44} {len(lat) / wall:>9.0f}/s  p50 {pct(lat, 50) * 1e3:7.2f} ms"
          f"  p99 {pct(lat, 99) * 1e3:7.2f} ms")  # fmt: skip


def timed(fn: Any) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--transfers", type=int, default=2000)
    ap.add_argument("--clients", type=int, default=4)
    a = ap.parse_args()
    if a.short:
        a.accounts, a.transfers = 10, 200
    setup = setup_requests(a.accounts)
    work = transfers(a.accounts, a.transfers)
    print(f"{a.accounts} accounts, {a.transfers} transfers of 1–50 kg (FIFO), {a.clients} clients")
    line("baseline: pure core (no store, no log)", pure(setup, work))
    with tempfile.TemporaryDirectory() as tmp:
        backends: list[tuple[str, Store]] = [("duckdb", open_store(str(Path(tmp) / "x.duckdb")))]
        try:
            backends.append(("postgresql", open_store(PG_URL, schema=f"b_{uuid.uuid4().hex[:12]}")))
        except Exception as exc:  # no server: DuckDB only
            print(f"PostgreSQL not measured: {exc}")
        for name, store in backends:
            for req, actor in setup:
                service.submit(store, req, actor=actor)
            line(f"service, one client, {name}", run_service(store, work))
            if name == "postgresql":
                lat, wall = run_load(store, work, a.clients)
                line(f"service, {a.clients} clients at once, {name}", lat, wall)
            n_log = len(service.log_rows(store))
            rebuilt, t_replay = timed(lambda s=store: service.replayed(s))
            kept, t_stored = timed(lambda s=store: service.stored(s))
            assert balances(rebuilt) == balances(kept)
            n_blocks = sum(len(b) for b in kept.blocks.values())
            print(f"rebuild, {name}: replay {n_log} log rows {t_replay * 1e3:8.1f} ms; "
                  f"read stored holdings ({n_blocks} blocks) {t_stored * 1e3:6.1f} ms "
                  f"({t_replay / t_stored:.1f}×)")  # fmt: skip
            assert service.verify(store) is None
            drop = getattr(store, "drop_schema", None)
            if drop is not None:
                drop()
            store.close()


if __name__ == "__main__":
    main()
