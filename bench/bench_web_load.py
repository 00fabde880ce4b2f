"""The web under load: several ``bishui serve`` web processes on PostgreSQL, driven by ``wrk``
(issue 21 item 6).

The load tool is Debian's ``wrk`` (C, one event loop per thread): its cost per request is a
small fraction of the server's, so on a 2-core machine the figures measure the platform and
not the load generator (the Python load of ``bench_web_latency.py`` cost about as much CPU as
the server did). Each of ``--users`` connections is one user: a request, the answer, then a
think time drawn uniformly from 0.5–1.5 × ``--think`` (wrk's ``delay()``), for ``--seconds``.
wrk times each request from sending to the whole answer; think time is not counted.

The server: ``--workers`` processes of ``bishui serve --no-gateway --reuse-port`` on one port
(the kernel spreads connections over them, docs/deploy.md "Several web processes"), over a
fresh PostgreSQL schema holding the model city with ``--days`` of hourly history. One of them
runs the background jobs (aggregation, engine refresh), as in a deployment. The API's rate
limit per client address is lifted (every connection comes from 127.0.0.1 here; in service
each user has an address of its own).

Scenarios, each against the baseline measured in the same run at the same users:

* ``baseline`` — ``GET /api/v1/health`` (routing, middleware, one trivial query);
* ``public`` — the public pages and published APIs in turn (the public page, the overview, the
  AQI now, the water sections), ``--users`` users;
* ``public via cache`` — the same through nginx with ``proxy_cache`` in front (the cache of
  docs/deploy.md "A cache in front of the web"), when nginx is installed;
* ``staff`` — an analyst's pages and APIs in turn (overview, air, water, sources, alerts,
  tasks), each user with a session of their own, ``--staff-users`` users.

Besides latency it reports the CPU time per request of the server processes, of nginx and of
wrk (from /proc): requests/s a core can serve = 1000 / (server CPU ms per request), the ceiling
per core, the figure least disturbed by other work on the machine.

    python bench/bench_web_load.py            # 2 workers, 1,000 public users, 100 staff, 30 s
    python bench/bench_web_load.py --short    # CI: 1 day of history, 1 worker, 50 users, 3 s
    python bench/bench_web_load.py --workers 3 --users 1000 --seconds 60 --days 30

Needs ``wrk`` (Debian package ``wrk``); ``nginx`` (``nginx-light``) for the cache scenario.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

try:
    import bishui  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx

PG_URL = os.environ.get("BISHUI_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")

# The water sections of the current month (Beijing time): the public sees published periods.
_MONTH = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)).strftime("%Y-%m")
PUBLIC_PATHS = ["/public", "/api/v1/overview", "/api/v1/air/realtime",
                f"/api/v1/water/sections?period={_MONTH}", "/api/v1/geo/counties"]  # fmt: skip
STAFF_PATHS = ["/", "/air", "/water", "/sources", "/alerts", "/tasks", "/api/v1/overview"]

# One Lua state per wrk thread: setup() numbers the threads, init() seeds each thread's own
# random think times, request() walks the paths in turn and sends each connection's cookie
# (every staff user has a session of their own), done() prints the figures as JSON.
WRK_LUA = r"""
local paths = {%(paths)s}
local cookies = {%(cookies)s}
local think_ms = %(think_ms)d
local counter = 1
local threads = {}
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
local i, n = 0, 0
function init(args)
  math.randomseed(tid * 7919 + os.time())
  i = tid
end
function request()
  i = i + 1
  n = n + 1
  local headers = {}
  if #cookies > 0 then
    headers["Cookie"] = "bishui_session=" .. cookies[(n * 31 + tid) %% #cookies + 1]
  end
  return wrk.format("GET", paths[i %% #paths + 1], headers)
end
function delay()
  if think_ms == 0 then return 0 end
  return math.random(think_ms / 2, think_ms * 3 / 2)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %%d, "duration_us": %%d, "p50": %%d, "p95": %%d, "p99": %%d, ' ..
    '"max": %%d, "connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""

NGINX_CONF = """
{user}
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/client;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    proxy_cache_path {tmp}/cache keys_zone=bishui:10m max_size=100m inactive=10m;
    upstream bishui {{ server 127.0.0.1:{upstream}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://bishui;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bishui;
            proxy_cache_revalidate on;
            proxy_cache_lock on;
            proxy_cache_use_stale updating;
            proxy_cache_bypass $cookie_bishui_session $http_authorization;
            proxy_no_cache $cookie_bishui_session $http_authorization;
            add_header X-Cache-Status $upstream_cache_status;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes *pids* and their waited-for children [s] (Linux)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15])
    return total / os.sysconf("SC_CLK_TCK")


def prepare(url: str, days: int, staff_users: int) -> list[str]:
    """The model city with *days* of hourly history ending now; returns session cookies."""
    from bishui.demo import city, history
    from bishui.registry import apply
    from bishui.store import open_store
    from bishui.timeutil import now_beijing
    from bishui.web import Settings, accounts, schema

    store = open_store(url)
    try:
        schema.ensure(store)
        t = time.perf_counter()
        model = city.build()
        apply(store, model.registry)
        now = now_beijing().replace(minute=0, second=0, microsecond=0)
        out = history.generate(
            store, model, now - dt.timedelta(days=days), now + dt.timedelta(hours=1)
        )
        print(
            f"model city: {out['values']:,} values over {days} d loaded in "
            f"{time.perf_counter() - t:.0f} s"
        )
        accounts.add_user(store, "bench.analyst", "bench-password-1", "analyst")
        settings = Settings()
        return [
            accounts.new_session(store, settings, "bench.analyst", "127.0.0.1")
            for _ in range(max(1, staff_users))
        ]
    finally:
        store.close()


def start_servers(url: str, workers: int, port: int, env: dict[str, str]) -> list[Any]:
    """*workers* web processes on *port*; their logs go to files (a pipe nobody reads would
    stall a process once full)."""
    procs = []
    logs = Path(tempfile.mkdtemp(prefix="bishui-web-"))
    for _ in range(workers):
        # no jobs: they run in a process of their own (start_jobs)
        cmd = [sys.executable, "-m", "bishui", "serve", "--db", url, "--no-gateway",
               "--no-jobs", "--reuse-port", "--allow-demo", "--host", "127.0.0.1",
               "--port", str(port)]  # fmt: skip
        log = logs / f"web-{len(procs)}.log"
        with log.open("wb") as out:
            procs.append(subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT))
        procs[-1].log = log
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            bad = next(p for p in procs if p.poll() is not None)
            raise RuntimeError(f"a web process exited: {bad.log.read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                time.sleep(1.0)  # the others bind within moments of the first
                return procs
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("the web processes did not start")


def start_jobs(url: str, env: dict[str, str]) -> Any:
    """The background jobs (aggregation, engine refresh, reports) in a process of their own —
    a gateway-only ``bishui serve`` — so that the web processes' CPU is the requests' alone.
    In a deployment exactly one process runs them; its CPU is reported beside the web's."""
    cmd = [sys.executable, "-m", "bishui", "serve", "--db", url, "--no-web", "--allow-demo",
           "--gateway-host", "127.0.0.1", "--gateway-port", str(free_port())]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_nginx(tmp: Path, upstream: int) -> tuple[Any, int] | None:
    nginx = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if nginx is None:
        return None
    port = free_port()
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(user=user, tmp=tmp, upstream=upstream, port=port))
    proc = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf), "-g", "daemon off;"])
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=1)
            return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"nginx did not start: {(tmp / 'nginx-error.log').read_text()[-2000:]}")


def nginx_pids(master: int) -> list[int]:
    """nginx's master and its workers (the workers do the work)."""
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    )
    return [master, *(int(p) for p in out.stdout.split())]


def run_wrk(
    tmp: Path,
    base: str,
    paths: list[str],
    users: int,
    seconds: float,
    think: float,
    cookies: list[str],
    watch: list[int],
) -> dict[str, Any]:
    script = tmp / f"load-{uuid.uuid4().hex[:6]}.lua"
    script.write_text(
        WRK_LUA
        % {
            "paths": ", ".join(json.dumps(p) for p in paths),
            "cookies": ", ".join(json.dumps(c) for c in cookies),
            "think_ms": int(think * 1000),
        }
    )
    threads = min(users, 2)
    cpu0 = cpu_seconds(watch)
    cmd = ["wrk", "-t", str(threads), "-c", str(users), "-d", f"{seconds:g}s",
           "--timeout", "30s", "-s", str(script), base]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    out = proc.stdout.read() if proc.stdout else ""
    if status != 0:
        raise RuntimeError(f"wrk failed: {out}{proc.stderr.read() if proc.stderr else ''}")
    line = next(ln for ln in out.splitlines() if ln.startswith("WRK "))
    fig: dict[str, Any] = json.loads(line[4:])
    fig["server_cpu"] = cpu_seconds(watch) - cpu0
    fig["wrk_cpu"] = usage.ru_utime + usage.ru_stime
    fig["wall"] = wall
    return fig


def warm(base: str, paths: list[str], cookies: list[str]) -> None:
    """Each path once per cookie and worker (snapshots, caches, each worker's auth cache)."""
    with httpx.Client(base_url=base, timeout=60) as client:
        for _ in range(4):
            for c in cookies[:1] or [None]:
                for p in paths:
                    h = {"Cookie": f"bishui_session={c}"} if c else {}
                    r = client.get(p, headers=h)
                    if r.status_code != 200:
                        raise RuntimeError(f"{p}: HTTP {r.status_code} {r.text[:300]}")


def cost_by_path(
    url: str, env: dict[str, str], tmp: Path, seconds: float, cookies: list[str]
) -> None:
    """CPU per request of each path on one web process (uvloop), 8 connections back to back:
    where the cost of the mixes below is."""
    print(f"cost by path, one web process, 8 connections back to back, {seconds:g} s a path:")
    print(f"{'path':58} {'req/s':>6} {'srv ms/req':>10}")
    runs = (
        ("public, computed", PUBLIC_PATHS, [], "0"),
        ("public, kept", PUBLIC_PATHS, [], "10"),
        ("analyst", STAFF_PATHS, cookies, "10"),
    )
    for who, paths, cks, keep in runs:
        port = free_port()
        procs = start_servers(url, 1, port, {**env, "BISHUI_WEB_PUBLIC_CACHE_SECONDS": keep})
        try:
            base = f"http://127.0.0.1:{port}"
            warm(base, paths, cks)
            for path in paths:
                f = run_wrk(tmp, base, [path], 8, seconds, 0.0, cks[:1], [procs[0].pid])
                req = max(1, f["requests"])
                print(
                    f"{who + ' ' + path:58} {req / (f['duration_us'] / 1e6):6.0f} "
                    f"{f['server_cpu'] / req * 1000:10.2f}"
                )
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=20)


def compare_loops(url: str, env: dict[str, str], tmp: Path, seconds: float) -> None:
    """CPU per request of one web process on asyncio's loop and on uvloop, closed loop
    (8 connections back to back, no think time), health and the public page: the
    ``platform.event_loop`` choice measured in the same run."""
    print(f"event loop, one web process, 8 connections back to back, {seconds:g} s a path:")
    print(f"{'loop':10} {'path':18} {'req/s':>6} {'srv ms/req':>10}")
    for loop in ("asyncio", "uvloop"):
        port = free_port()
        procs = start_servers(url, 1, port, {**env, "BISHUI_EVENT_LOOP": loop})
        try:
            base = f"http://127.0.0.1:{port}"
            warm(base, ["/api/v1/health", "/public"], [])
            for path in ("/api/v1/health", "/public"):
                f = run_wrk(tmp, base, [path], 8, seconds, 0.0, [], [procs[0].pid])
                req = max(1, f["requests"])
                print(
                    f"{loop:10} {path:18} {req / (f['duration_us'] / 1e6):6.0f} "
                    f"{f['server_cpu'] / req * 1000:10.2f}"
                )
        finally:
            for p in procs:
                p.terminate()
                p.wait(timeout=20)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--short", action="store_true", help="the CI form")
    ap.add_argument("--workers", type=int, help="web processes (2; --short 1)")
    ap.add_argument("--users", type=int, help="public users (1000; --short 50)")
    ap.add_argument("--staff-users", type=int, help="staff users (100; --short 10)")
    ap.add_argument("--seconds", type=float, help="per scenario (30; --short 3)")
    ap.add_argument("--think", type=float, default=1.0, help="mean think time [s]")
    ap.add_argument("--days", type=int, help="hourly history (30; --short 1)")
    ap.add_argument("--by-path", action="store_true", help="also the CPU per request by path")
    a = ap.parse_args()
    workers = a.workers or (1 if a.short else 2)
    users = a.users or (50 if a.short else 1000)
    staff = a.staff_users or (10 if a.short else 100)
    seconds = a.seconds or (3.0 if a.short else 30.0)
    days = a.days or (1 if a.short else 30)
    if shutil.which("wrk") is None:
        print("wrk is not installed (Debian: apt-get install wrk)", file=sys.stderr)
        return 2

    from bishui.store import open_store

    schema = f"bench_web_{uuid.uuid4().hex[:8]}"
    url = f"{PG_URL}?schema={schema}"
    tmpdir = tempfile.TemporaryDirectory()
    tmp = Path(tmpdir.name)
    procs: list[Any] = []
    jobs: Any = None
    nginx: tuple[Any, int] | None = None
    try:
        cookies = prepare(url, days, staff)
        port = free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path),
               "BISHUI_SECRET": secrets.token_hex(32),
               # every connection comes from 127.0.0.1 here: lift the per-address limit
               "BISHUI_WEB_API_RATE": "100000000/1"}  # fmt: skip
        compare_loops(url, env, tmp, min(seconds, 10.0))
        if a.by_path:
            cost_by_path(url, env, tmp, min(seconds, 5.0), cookies)
        jobs = start_jobs(url, env)
        procs = start_servers(url, workers, port, env)
        pids = [p.pid for p in procs]
        # the same processes with nothing kept in memory (web.public_cache_seconds=0): the
        # baseline of the in-process cache
        plain_port = free_port()
        plain = start_servers(
            url, workers, plain_port, {**env, "BISHUI_WEB_PUBLIC_CACHE_SECONDS": "0"}
        )
        procs += plain
        plain_pids = [p.pid for p in plain]
        plain_base = f"http://127.0.0.1:{plain_port}"
        warm(plain_base, PUBLIC_PATHS, [])
        jobs_cpu0 = cpu_seconds([jobs.pid])
        t_jobs = time.monotonic()
        base = f"http://127.0.0.1:{port}"
        warm(base, PUBLIC_PATHS, [])
        warm(base, STAFF_PATHS, cookies)
        nginx = start_nginx(tmp, port)
        scenarios: list[tuple[str, str, list[str], int, list[str], list[int]]] = [
            ("baseline GET /api/v1/health", base, ["/api/v1/health"], users, [], pids),
            (f"public pages ({len(PUBLIC_PATHS)} in turn)", base, PUBLIC_PATHS, users, [], pids),
            (
                "public pages, nothing kept in memory",
                plain_base,
                PUBLIC_PATHS,
                users,
                [],
                plain_pids,
            ),
        ]
        if nginx is not None:
            cached = f"http://127.0.0.1:{nginx[1]}"
            # each path stored once before the clock starts: a request that finds its path
            # being fetched waits under proxy_cache_lock, in steps of 500 ms as seen here:
            # the start-up, not the steady state measured
            warm(cached, PUBLIC_PATHS, [])
            r = httpx.get(cached + "/public")
            status = r.headers.get("x-cache-status")
            print(f"nginx in front: a repeated /public is a cache {status}")
            watch = pids + nginx_pids(nginx[0].pid)
            scenarios.append(
                ("public pages via nginx proxy_cache", cached, PUBLIC_PATHS, users, [], watch)
            )
        else:
            print("nginx is not installed: no cache scenario (Debian: apt-get install nginx-light)")
        health = ["/api/v1/health"]
        scenarios += [
            ("baseline GET /api/v1/health (staff users)", base, health, staff, [], pids),
            (f"staff pages ({len(STAFF_PATHS)} in turn)", base, STAFF_PATHS, staff, cookies, pids),
        ]
        print(
            f"{workers} web process(es) on PostgreSQL, think {a.think:g} s "
            f"(0.5–1.5×), {seconds:g} s a scenario; load average at start "
            f"{os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)"
        )
        head = (
            f"{'scenario':46} {'users':>5} {'req/s':>6} {'p50 ms':>7} {'p95 ms':>7} "
            f"{'p99 ms':>7} {'p95/base':>8} {'errors':>6} {'srv ms/req':>10} {'wrk ms/req':>10}"
        )
        print(head)
        results = []
        base_p95: dict[int, float] = {}
        for name, target, paths, n, cks, watch in scenarios:
            f = run_wrk(tmp, target, paths, n, seconds, a.think, cks, watch)
            req = max(1, f["requests"])
            p95 = f["p95"] / 1000
            base_p95.setdefault(n, p95)
            errors = f["connect"] + f["read"] + f["write"] + f["status"] + f["timeout"]
            row = {
                "scenario": name,
                "users": n,
                "rps": f["requests"] / (f["duration_us"] / 1e6),
                "p50": f["p50"] / 1000,
                "p95": p95,
                "p99": f["p99"] / 1000,
                "ratio": p95 / base_p95[n] if base_p95[n] else float("nan"),
                "errors": errors,
                "server_ms": f["server_cpu"] / req * 1000,
                "wrk_ms": f["wrk_cpu"] / req * 1000,
            }
            results.append(row)
            print(
                f"{name:46} {n:5d} {row['rps']:6.0f} {row['p50']:7.1f} {row['p95']:7.1f} "
                f"{row['p99']:7.1f} {row['ratio']:8.2f} {errors:6d} {row['server_ms']:10.2f} "
                f"{row['wrk_ms']:10.3f}"
            )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
        print(
            f"background jobs (their own process): "
            f"{(cpu_seconds([jobs.pid]) - jobs_cpu0) / (time.monotonic() - t_jobs) * 100:.0f} % "
            f"of a core over the scenarios"
        )
        for row in results:
            if row["server_ms"] > 0:
                print(
                    f"ceiling per core, {row['scenario']}: "
                    f"{1000 / row['server_ms']:.0f} requests/s (server CPU only)"
                )
        logged = sum(p.log.read_text(errors="replace").count(" ERROR ") for p in procs)
        if logged:
            print(f"the web processes logged {logged} errors: {procs[0].log.parent}")
            return 1
        failed = [r["scenario"] for r in results if r["errors"]]
        if failed:
            print(f"errors in: {', '.join(failed)}", file=sys.stderr)
            return 1
        return 0
    finally:
        if nginx is not None:
            nginx[0].send_signal(signal.SIGQUIT)
            nginx[0].wait(timeout=15)
        procs += [jobs] if jobs is not None else []
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        store = open_store(url)
        store.drop_schema()
        store.close()
        tmpdir.cleanup()


if __name__ == "__main__":
    sys.exit(main())
