"""Platform-core benchmarks: end-to-end ingest, series queries, history generation.

1. End-to-end ingest over loopback: N simulated loggers (a second process) send minute data
   (10 pollutants a frame, Flag=5) to the real gateway and store sink in this process; every
   frame is acknowledged (9014) only after its group commit. Reported: frames/s and values/s,
   for DuckDB and PostgreSQL. Baseline in the same run: the same sink committing every frame
   on its own (no group commit).
2. Queries on a year of the model city's hourly history: one site-year, one city-year.
3. Generation of the model city's year of history (values/s), and peak memory (RSS).

Usage: ``python bench/bench_ingest.py [--short] [--loggers N] [--frames K]``
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bishui.hj212 import Packet, decode, encode

PG_URL = os.environ.get("BISHUI_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
CODES = (
    "a00000",
    "a34013",
    "a21026",
    "a21002",
    "a19001",
    "a01011",
    "a01012",
    "a01013",
    "a01014",
    "a21005",
)


def pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
        return True
    except Exception:
        return False


def mn_of(i: int) -> str:
    return f"4208319{i:017d}"


# --------------------------------------------------------------------------- the client
async def _client(port: int, loggers: int, frames: int) -> dict[str, float]:
    # recent data: older than the backfill window (30 days) would be held in quarantine
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=8)
    t0 = (now - dt.timedelta(minutes=frames, days=1)).replace(second=0, microsecond=0)
    sem = asyncio.Semaphore(500)  # connect in waves; every logger stays connected

    async def one(i: int) -> int:
        mn = mn_of(i)
        async with sem:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        for k in range(frames):
            t = t0 + dt.timedelta(minutes=k)
            cp = {"DataTime": f"{t:%Y%m%d%H%M%S}"}
            for j, c in enumerate(CODES):
                cp[f"{c}-Avg"] = f"{(i + j + k) % 97 + 0.5:.1f}"
                cp[f"{c}-Flag"] = "N"
            qn = f"{t:%Y%m%d%H%M%S}{k % 1000:03d}"
            writer.write(
                encode(Packet.make(qn=qn, st="31", cn="2051", pw="123456", mn=mn, flag=5, cp=cp))
            )
            await writer.drain()
            reply = decode(await reader.readuntil(b"\r\n"))
            if reply.cn == "9014" and reply.qn == qn:
                n += 1
        writer.close()
        return n

    start = time.perf_counter()
    acked = sum(await asyncio.gather(*(one(i) for i in range(loggers))))
    return {"acked": acked, "seconds": time.perf_counter() - start}


# --------------------------------------------------------------------------- the server
def _registry(loggers: int) -> object:
    from bishui.registry import Device, DeviceParameter, Region, Registry, Site

    return Registry(
        regions=[Region("420802", "东宝区", "district")],
        sites=[Site(f"B{i}", "air", f"bench {i}", "420802") for i in range(loggers)],
        devices=[
            Device(
                mn_of(i),
                f"B{i}",
                "123456",
                "31",
                parameters=tuple(DeviceParameter(c, "mg/m³", 0, 1e9) for c in CODES),
            )
            for i in range(loggers)
        ],
    )


async def _serve_and_measure(store: object, loggers: int, frames: int, group: bool) -> dict:
    from bishui.hj212.gateway import Gateway
    from bishui.ingest.sink import DeviceDirectory, StoreSink
    from bishui.ingest.writer import GroupCommitWriter

    directory = DeviceDirectory(store)  # type: ignore[arg-type]
    writer = GroupCommitWriter(store, max_batch=20_000 if group else 1)  # type: ignore[arg-type]
    sink = StoreSink(store, directory, writer)  # type: ignore[arg-type]
    # every simulated logger comes from 127.0.0.1: lift the per-address connection limit
    # where the code has one (issue 13)
    import dataclasses

    from bishui.hj212.gateway import GatewayLimits

    names = {f.name for f in dataclasses.fields(GatewayLimits)}
    limits = GatewayLimits(
        **({"max_connections_per_peer": 10_000} if "max_connections_per_peer" in names else {})
    )
    gw = Gateway(directory.lookup, sink, port=0, limits=limits)
    await gw.start()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client",
        str(gw.port),
        str(loggers),
        str(frames),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await proc.communicate()
    await gw.stop()
    await sink.close()
    res = json.loads(out)
    res["commits"] = writer.commits
    return res


def ingest(backend: str, loggers: int, frames: int, group: bool) -> dict:
    from bishui.app import open_store
    from bishui.registry import apply

    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        if backend == "duckdb":
            store = open_store(Path(tmp) / "b.duckdb")
        else:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            store = open_store(PG_URL, schema=schema)
        try:
            apply(store, _registry(loggers))  # type: ignore[arg-type]
            res = asyncio.run(_serve_and_measure(store, loggers, frames, group))
            res["stored_values"] = store.count("measurement")
        finally:
            if schema:
                store.drop_schema()  # type: ignore[attr-defined]
            store.close()
    res["frames_per_s"] = res["acked"] / res["seconds"]
    res["values_per_s"] = res["frames_per_s"] * len(CODES)
    return res


# --------------------------------------------------------------------------- history + queries
def history(backend: str, days: int) -> dict:
    """Generate the model city's history into a fresh store; time two series queries."""
    from bishui.app import open_store
    from bishui.demo.city import build
    from bishui.demo.history import generate
    from bishui.registry import apply

    with tempfile.TemporaryDirectory() as tmp:
        schema = None
        if backend == "duckdb":
            store = open_store(Path(tmp) / "h.duckdb")
        else:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            store = open_store(PG_URL, schema=schema)
        try:
            model = build()
            apply(store, model.registry)
            end = dt.datetime(2026, 11, 1)
            start = end - dt.timedelta(days=days)
            t = time.perf_counter()
            stats = generate(store, model, start, end)
            gen_s = time.perf_counter() - t
            q: dict[str, float] = {}
            for name, fn in {
                "site_year": lambda: store.series("AQ01", "a34004", "hour", start, end),
                "city_year": lambda: store.query_columns(
                    "SELECT site_id, parameter, ts, value, valid FROM measurement "
                    "WHERE period = 'hour' AND ts >= ? AND ts < ?",
                    [start, end],
                ),
            }.items():
                best = float("inf")
                for _ in range(3):
                    t = time.perf_counter()
                    r = fn()
                    best = min(best, time.perf_counter() - t)
                q[name] = best
                q[name + "_rows"] = len(next(iter(r.values())))
        finally:
            if schema:
                store.drop_schema()  # type: ignore[attr-defined]
            store.close()
    return {
        "values": stats["values"],
        "generate_s": gen_s,
        "values_per_s": stats["values"] / gen_s,
        **q,
    }


def _child(kind: str, *args: str) -> dict:
    """Run one measurement in a fresh process, so its peak RSS is its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--short", action="store_true")
    ap.add_argument("--loggers", type=int)
    ap.add_argument("--frames", type=int)
    ap.add_argument("--days", type=int)
    ap.add_argument("--client", nargs=3)
    ap.add_argument("--child", nargs="+")
    a = ap.parse_args()
    if a.client:
        port, loggers, frames = map(int, a.client)
        print(json.dumps(asyncio.run(_client(port, loggers, frames))))
        return 0
    if a.child:
        kind, backend, *rest = a.child
        res = (
            ingest(backend, int(rest[0]), int(rest[1]), rest[2] == "group")
            if kind == "ingest"
            else history(backend, int(rest[0]))
        )
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(res))
        return 0
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children inherit it
    loggers = a.loggers or (20 if a.short else 1000)
    frames = a.frames or (5 if a.short else 20)
    days = a.days or (7 if a.short else 365)
    backends = ["duckdb"] + (["postgresql"] if pg_available() else [])
    print(
        f"end-to-end ingest: {loggers} loggers × {frames} minute frames × {len(CODES)} values,"
        " ack after durable write"
    )
    for b in backends:
        g = _child("ingest", b, str(loggers), str(frames), "group")
        # The baseline is slow by design: a few frames per logger are enough for its rate.
        s = _child("ingest", b, str(loggers), str(min(frames, 2)), "single")
        print(
            f"  {b:<10} group commit {g['frames_per_s']:9,.0f} frames/s "
            f"{g['values_per_s']:10,.0f} values/s ({g['commits']} commits, "
            f"peak {g['peak_rss_mb']:.0f} MB) | baseline commit-per-frame "
            f"{s['frames_per_s']:8,.0f} frames/s → ×{g['frames_per_s'] / s['frames_per_s']:.1f}"
        )
        assert g["acked"] == loggers * frames and g["stored_values"] == g["acked"] * len(CODES)
    print(f"model-city history: {days} days, then queries (best of 3)")
    for b in backends:
        h = _child("history", b, str(days))
        print(
            f"  {b:<10} generate {h['values']:,} values in {h['generate_s']:.1f} s "
            f"({h['values_per_s']:,.0f} values/s, peak {h['peak_rss_mb']:.0f} MB); "
            f"site-year {h['site_year'] * 1000:.1f} ms ({h['site_year_rows']} rows); "
            f"city-year {h['city_year'] * 1000:.0f} ms ({h['city_year_rows']:,} rows)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
