"""The black box's own channel on the network and the stations' self-check uploads (issue 19):
signed captures in HJ 212 frames through ``POST /api/v1/vehicles/frames`` (no session: the
signature authenticates; rate-limited) and through the TCP listener (byte at a time), tampered
frames refused; self-checks by API (a station its own lanes only) and CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))  # the web tests' helpers
from web_support import client_for

from bishui.store import Store
from bishui.vehicles import boxframe, boxlistener, boxsign, service
from bishui.vehicles.model import Capture
from bishui.vehicles.simulate import SimConfig, SimDay, simulate
from bishui.web import Settings, accounts, create_app
from bishui.web import schema as web_schema
from bishui.web.api import vehicles as vehicles_api

NOW = dt.datetime(2026, 11, 2, 20, 0)
SK = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


@pytest.fixture(scope="module", autouse=True)
def cheap_argon2() -> Iterator[None]:
    """As tests/web/conftest.py: the minimal argon2 cost for the two accounts made here."""
    from argon2 import PasswordHasher

    old = accounts._hasher
    accounts.use_hasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
    yield
    accounts.use_hasher(old)


@pytest.fixture(scope="module")
def day() -> SimDay:
    return simulate(SimConfig(stations=2, tests_per_lane=3, seed=5))


def _cap(iid: str, n: int = 12) -> Capture:
    rng = np.random.default_rng(len(iid))
    curve = {"co": rng.random(n) * 0.3, "hc": rng.random(n) * 50, "speed": np.linspace(0, 25, n)}
    return Capture(iid, "BOX-1", "AN-S01-L1", dt.datetime(2026, 11, 2, 9, 0, 1), curve)


def _tampered(c: Capture) -> bytes:
    """Valid frames (fresh CRCs) of an edited curve under the original signature."""
    sig = boxsign.sign(c, SK)
    edited = dataclasses.replace(c, curve={**c.curve, "co": c.curve["co"] * 0.5})
    return boxframe.encode(edited, sig)


def _setup(store: Store, day: SimDay) -> dict[str, str]:
    web_schema.ensure(store)
    service.load_simulation(store, day, "test", NOW)
    service.register_box(store, "BOX-1", "S01-L1", boxsign.public_raw(SK), "admin", NOW)
    s01 = day.stations["S01"]
    store.upsert("enterprises", [{"uscc": s01.uscc, "name": s01.name, "industry": "8121",
                                  "region": s01.region, "key_unit": False}])  # fmt: skip
    accounts.add_user(store, "veh.admin", "Veh-channel-pw-2026!", "admin")
    accounts.add_user(store, "veh.station", "Veh-channel-pw-2026!", "enterprise",
                      enterprise=s01.uscc)  # fmt: skip
    return {u: accounts.new_token(store, f"veh.{u}", "test")[1] for u in ("admin", "station")}


def _h(token: str | None = None, **extra: str) -> dict[str, str]:
    h = {"Accept": "application/json", **extra}
    if token:
        h["Authorization"] = f"Bearer {token}"
    return h


async def test_frames_route_self_check_route_and_cli(
    store: Store, day: SimDay, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = _setup(store, day)
    monkeypatch.setattr(vehicles_api, "FRAMES_RATE", (4, 60.0))
    app = create_app(store, Settings(secret=""))
    octet = {"Content-Type": "application/octet-stream"}
    async with client_for(app) as c:
        # the box, no session: a tampered capture is refused and nothing is stored
        c1 = _cap("F1")
        before = store.count("vehicles_captures")
        r = await c.post("/api/v1/vehicles/frames", content=_tampered(c1), headers=_h(**octet))
        assert r.status_code == 400 and r.json()["field"] == "signature", r.text
        assert store.count("vehicles_captures") == before
        # two signed captures in one body: both stored, audited as the box's address
        body = boxframe.encode(c1, boxsign.sign(c1, SK))
        body += boxframe.encode(_cap("F22"), boxsign.sign(_cap("F22"), SK))
        r = await c.post("/api/v1/vehicles/frames", content=body, headers=_h(**octet))
        assert r.status_code == 201 and r.json()["captures"] == 2, r.text
        a = store.query(
            "SELECT actor FROM vehicles_audit WHERE action = 'upload_captures' ORDER BY seq DESC"
        )[0]
        assert a["actor"].startswith("blackbox@")
        r = await c.post("/api/v1/vehicles/frames", content=b"no frames", headers=_h(**octet))
        assert r.status_code == 400 and r.json()["field"] == "frames"
        r = await c.post("/api/v1/vehicles/frames", content=body, headers=_h(**octet))
        assert r.status_code == 409  # a capture is not replaced
        r = await c.post("/api/v1/vehicles/frames", content=body, headers=_h(**octet))
        assert r.status_code == 429  # the fifth post from one address within the minute

        # self-checks: a station its own registered lanes; the administrator any
        morning = "2026-11-02T07:30:00"
        mine = [
            {"station": "S01", "lane": "S01-L1", "item": "coastdown", "at": morning,
             "ccdt_s": 20.0, "acdt_s": 23.0},
            {"station": "S01", "lane": "S01-L1", "item": "leak", "at": morning,
             "device_passed": True},
        ]  # fmt: skip
        url = "/api/v1/vehicles/selfchecks"
        r = await c.post(url, json={"checks": mine}, headers=_h(tokens["station"]))
        assert r.status_code == 201 and r.json() == {"ok": True, "selfchecks": 2, "failed": 1}
        other = [dict(mine[1], station="S02", lane="S02-L1")]
        r = await c.post(url, json={"checks": other}, headers=_h(tokens["station"]))
        assert r.status_code == 403
        wrong_lane = [mine[1], dict(mine[1], lane="S02-L1")]
        r = await c.post(url, json={"checks": wrong_lane}, headers=_h(tokens["station"]))
        assert r.status_code == 400 and (r.json()["field"], r.json()["row"]) == ("lane", 2)
        bad = [dict(mine[0], acdt_s="fast")]
        r = await c.post(url, json={"checks": bad}, headers=_h(tokens["admin"]))
        assert r.status_code == 400 and r.json()["field"] == "acdt_s"
        r = await c.post(url, json={"checks": other}, headers=_h(tokens["admin"]))
        assert r.status_code == 201
        r = await c.post(url, json={"checks": mine}, headers=_h())
        assert r.status_code == 401
        # the station's upload: records and self-checks in one request, all checked first
        t0 = next(t for t in day.inspections if t.station == "S01")
        rec = {"id": "UPC1", "station": "S01", "lane": t0.lane, "vin": t0.vin, "plate": t0.plate,
               "method": t0.method, "start": t0.start.isoformat(), "claimed_result": 1,
               "curve": {k: v.tolist() for k, v in t0.curve.items()}}  # fmt: skip
        n0 = store.count("vehicles_inspections")
        both = {"inspections": [rec], "selfchecks": [mine[1], dict(mine[1], lane="S09-L1")]}
        r = await c.post("/api/v1/vehicles/uploads", json=both, headers=_h(tokens["station"]))
        assert r.status_code == 400 and (r.json()["field"], r.json()["row"]) == ("lane", 3)
        assert store.count("vehicles_inspections") == n0
        both["selfchecks"] = [dict(mine[1], at="2026-11-02T12:00:00")]
        r = await c.post("/api/v1/vehicles/uploads", json=both, headers=_h(tokens["station"]))
        assert r.status_code == 201 and (r.json()["inspections"], r.json()["selfchecks"]) == (1, 1)
    assert store.count("vehicles_selfchecks") == 4
    # the failed coast-down invalidates the lane's loaded tests after it
    t = [t for t in day.inspections if t.lane == "S01-L1"]
    found = service.analyse(store, t[0].start.date(), t[0].start.date(), "t", NOW)
    fails = {f.subject for f in found if f.rule_id == "SELFCHECK_FAIL"}
    assert fails == {x.id for x in t if x.method in ("asm", "vmas")} and fails


async def test_the_listener_takes_frames_byte_at_a_time(store: Store) -> None:
    service.register_box(store, "BOX-1", "S01-L1", boxsign.public_raw(SK), "admin", NOW)
    listener = boxlistener.BoxListener(store)
    server = await asyncio.start_server(listener.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        good, bad = _cap("L1"), _cap("L22")
        data = boxframe.encode(good, boxsign.sign(good, SK))
        for i in range(len(data)):  # the first capture one byte at a time, the second whole
            writer.write(data[i : i + 1])
            await writer.drain()
        writer.write(_tampered(bad))
        acks = [await asyncio.wait_for(reader.readuntil(b"\r\n"), 10) for _ in range(2)]
        writer.close()
        await writer.wait_closed()
    finally:
        server.close()
        await server.wait_closed()
    cps = [boxframe.codec.decode(a).cp_dict for a in acks]
    assert cps[0] == {"InspId": "L1", "Result": "1"}
    assert cps[1] == {"InspId": "L22", "Result": "0", "Reason": "signature"}
    got = store.query(
        "SELECT inspection_id FROM vehicles_captures WHERE inspection_id IN ('L1', 'L22')"
    )
    assert [r["inspection_id"] for r in got] == ["L1"]
    assert listener.counts["stored"] == 1 and listener.counts["refused"] == 1
