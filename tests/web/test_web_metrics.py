"""``/metrics`` (issue 21): the Prometheus text exposition format, parsed strictly; admin only."""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any

from web_support import client_for, login

from bishui import metrics

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(
    rf"^(?P<name>{NAME})(?:\{{(?P<labels>{LABEL}(?:,{LABEL})*)?\}})? (?P<value>\S+)$"
)
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def parse(text: str) -> dict[str, dict[str, Any]]:
    """The families of an exposition: name → type, help and samples ``(name, labels, value)``;
    fails on any line the format (version 0.0.4) does not allow."""
    assert text.endswith("\n")
    families: dict[str, dict[str, Any]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, _, help = line[7:].partition(" ")
            assert re.fullmatch(NAME, name), line
            families.setdefault(name, {"samples": []})["help"] = help
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert "type" not in families.get(name, {}), f"TYPE twice: {name}"
            families.setdefault(name, {"samples": []})["type"] = kind
            current = name
        else:
            m = SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            name = m["name"]
            assert current and name.startswith(current), (current, line)
            value = float(m["value"].replace("+Inf", "inf"))
            labels = dict(LABEL_RE.findall(m["labels"] or ""))
            families[current]["samples"].append((name, labels, value))
    return families


def test_the_exposition_format() -> None:
    r = metrics.Registry()
    c = r.counter("t_frames_total", "frames in", ("reason",))
    c.inc(reason='bad "crc"\n')
    c.inc(2, reason="ok")
    r.gauge("t_lag", "lag").set(7)
    h = r.histogram("t_commit_seconds", "commit", (0.1, 1.0))
    for v in (0.05, 0.5, 3.0):
        h.observe(v)
    r.collector("gw", lambda: [("t_gw_acks_total", "counter", "acks", [("", {}, 5.0)])])
    fam = parse(r.render())
    assert fam["t_frames_total"]["type"] == "counter"
    assert ("t_frames_total", {"reason": 'bad \\"crc\\"\\n'}, 1.0) in fam["t_frames_total"][
        "samples"
    ]
    assert fam["t_lag"]["samples"] == [("t_lag", {}, 7.0)]
    got = {(n, s.get("le")): v for n, s, v in fam["t_commit_seconds"]["samples"]}
    assert got[("t_commit_seconds_bucket", "0.1")] == 1
    assert got[("t_commit_seconds_bucket", "1")] == 2
    assert got[("t_commit_seconds_bucket", "+Inf")] == 3
    assert math.isclose(got[("t_commit_seconds_sum", None)], 3.55)
    assert got[("t_commit_seconds_count", None)] == 3
    assert fam["t_gw_acks_total"]["samples"] == [("t_gw_acks_total", {}, 5.0)]


async def test_the_metrics_listener_of_a_process_without_web() -> None:
    r = metrics.Registry()
    r.counter("t_x_total", "x").inc()
    server = await metrics.serve("127.0.0.1", 0, r)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = (await reader.read()).decode()
    writer.close()
    server.close()
    head, _, body = reply.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200") and "version=0.0.4" in head
    assert parse(body)["t_x_total"]["samples"] == [("t_x_total", {}, 1.0)]


async def test_the_web_metrics_for_an_admin_only(app: Any, users: dict[str, Any]) -> None:
    async with client_for(app) as client:
        r = await client.get("/metrics")
        assert r.status_code == 401  # public: not shown
        await login(client, users["analyst"]["username"])
        assert (await client.get("/metrics")).status_code == 403
    async with client_for(app) as client:
        await client.get("/api/v1/health")
        await login(client, users["admin"]["username"])
        r = await client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    fam = parse(r.text)
    lat = fam["bishui_web_request_seconds"]
    assert lat["type"] == "histogram"
    assert any(s.get("kind") == "api" and s.get("le") == "+Inf" for _, s, _ in lat["samples"])
