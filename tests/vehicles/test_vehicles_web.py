"""The vehicles routes and pages on both backends: who may do what, the county's and the
station's scoping, and the public report lookup a QR code opens (verified, tampered)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))  # the web tests' helpers
from web_support import client_for, load_city

from bishui.store import Store
from bishui.vehicles import reportcode, service
from bishui.vehicles.simulate import SimConfig, simulate
from bishui.web import Settings, accounts, create_app

NOW = dt.datetime(2026, 11, 2, 20, 0)


@pytest.fixture
def loaded(store: Store) -> dict[str, Any]:
    users = load_city(store, hours=1)
    day = simulate(
        SimConfig(stations=5, tests_per_lane=6, seed=4, frauds={"clone": 0.4, "edited": 0.4})
    )
    ent = users["enterprise"]["enterprise"]
    day.stations["S01"] = dataclasses.replace(day.stations["S01"], uscc=ent)
    service.load_simulation(store, day, "test", NOW)
    service.analyse(
        store, day.inspections[0].start.date(), day.inspections[0].start.date(), "t", NOW
    )
    sk = reportcode.private_from_seed(bytes(range(32)))
    service.publish_key(store, reportcode.public_of("k1", sk, dt.date(2026, 1, 1)), "admin", NOW)
    rep = service.issue_report(
        store, day.inspections[0].id, "k1", sk, "https://x/vehicles", "t", NOW
    )
    tokens = {r: accounts.new_token(store, u["username"], "test")[1] for r, u in users.items()}
    return {"tokens": tokens, "report": rep, "day": day}


def _h(tokens: dict[str, str], role: str) -> dict[str, str]:
    h = {"Accept": "application/json"}
    if role in tokens:
        h["Authorization"] = f"Bearer {tokens[role]}"
    return h


async def test_supervisor_routes_scoping_and_public_lookup(
    store: Store, loaded: dict[str, Any]
) -> None:
    tokens, rep = loaded["tokens"], loaded["report"]
    app = create_app(store, Settings(secret=""))
    async with client_for(app) as c:
        r = await c.get(
            "/api/v1/vehicles/ranking?first=2026-11-02&last=2026-11-02",
            headers=_h(tokens, "inspector"),
        )
        assert r.status_code == 200
        items = r.json()["items"]
        assert items[0]["station"] == "S01" and len(items) == 5
        r = await c.get(
            "/api/v1/vehicles/ranking?first=2026-11-02&last=2026-11-02",
            headers=_h(tokens, "county"),
        )
        assert [i["station"] for i in r.json()["items"]] == ["S03"]  # 沙洋县's station only
        r = await c.get("/api/v1/vehicles/findings", headers=_h(tokens, "public"))
        assert r.status_code == 401
        r = await c.get("/api/v1/vehicles/findings", headers=_h(tokens, "enterprise"))
        assert r.status_code == 403
        # a station uploads its own records only; captures are the box's channel
        t = loaded["day"].inspections[1]
        rec = {
            "id": "W1",
            "station": "S02",
            "lane": t.lane,
            "vin": t.vin,
            "plate": t.plate,
            "method": t.method,
            "start": t.start.isoformat(),
            "claimed_result": 1,
            "curve": {k: v.tolist() for k, v in t.curve.items()},
        }
        r = await c.post(
            "/api/v1/vehicles/uploads",
            json={"inspections": [rec]},
            headers=_h(tokens, "enterprise"),
        )
        assert r.status_code == 403
        r = await c.post(
            "/api/v1/vehicles/uploads",
            json={"inspections": [dict(rec, station="S01")]},
            headers=_h(tokens, "enterprise"),
        )
        assert r.status_code == 201 and r.json()["inspections"] == 1
        r = await c.post(
            "/api/v1/vehicles/uploads",
            json={"inspections": [dict(rec, id="W2", station="S01", method="x")]},
            headers=_h(tokens, "enterprise"),
        )
        assert r.status_code in (400, 422) and "method" in r.text
        # the box's channel: signed by a registered box, from an administrator's account
        from bishui.vehicles import boxsign

        cap = loaded["day"].captures[t.id]
        cap = dataclasses.replace(cap, inspection_id="W1", box_serial="BOX-9")
        box_sk = reportcode.private_from_seed(bytes(range(2, 34)))
        row = {
            "inspection_id": "W1",
            "box_serial": "BOX-9",
            "analyser": cap.analyser,
            "start": cap.start.isoformat(),
            "curve": {k: v.tolist() for k, v in cap.curve.items()},
            "signature": boxsign.sign(cap, box_sk),
        }
        r = await c.post(
            "/api/v1/vehicles/uploads", json={"captures": [row]}, headers=_h(tokens, "admin")
        )
        assert r.status_code == 400 and "box_serial" in r.text  # not registered yet
        r = await c.post(
            "/api/v1/vehicles/boxes",
            json={"serial": "BOX-9", "lane": t.lane, "ed25519": boxsign.public_raw(box_sk)},
            headers=_h(tokens, "admin"),
        )
        assert r.status_code == 201
        forged = dict(row, analyser="AN-SUBSTITUTE")
        r = await c.post(
            "/api/v1/vehicles/uploads", json={"captures": [forged]}, headers=_h(tokens, "admin")
        )
        assert r.status_code == 400 and "signature" in r.text
        r = await c.post(
            "/api/v1/vehicles/uploads", json={"captures": [row]}, headers=_h(tokens, "admin")
        )
        assert r.status_code == 201 and r.json()["captures"] == 1
        # the public lookup, with the code's signature
        no, s = rep["report_no"], rep["payload"].split("?s=")[1]
        r = await c.get(f"/api/v1/vehicles/reports/{no}?s={s}", headers=_h(tokens, "public"))
        assert r.status_code == 200 and r.json()["verification"]["ok"] is True
        body, sig = s.split(".")
        bad = body[:-2] + ("AA" if not body.endswith("AA") else "BB") + "." + sig
        r = await c.get(f"/api/v1/vehicles/reports/{no}?s={bad}", headers=_h(tokens, "public"))
        assert r.json()["verification"]["ok"] is False
        page = await c.get(f"/vehicles/r/{no}?s={s}", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "验证通过" in page.text and "合格" in page.text
        page = await c.get(f"/vehicles/r/{no}?s={bad}", headers={"Accept": "text/html"})
        assert "验证通过" not in page.text
        keys = await c.get("/api/v1/vehicles/keys")
        assert keys.json()["keys"][0]["key_id"] == "k1"
        page = await c.get(
            "/vehicles",
            headers={
                "Accept": "text/html",
                **{k: v for k, v in _h(tokens, "inspector").items() if k != "Accept"},
            },
        )
        assert page.status_code == 200
        for words in (
            "检测站风险排名",
            "曲线雷同",
            "标气比对",
            "巡查车比对",
            "淘汰进度",
            "荆门第1机动车检测站",
            "沙洋县",
        ):
            assert words in page.text, words
        # the charts: the ranking's scores and the gas drift, drawn from the page's data
        assert 'id="veh-ranking-chart"' in page.text and 'id="veh-gas-chart"' in page.text
        assert "/static/js/vehicles.js" in page.text and "检测站风险得分" in page.text
        for code in ("CLONE", "BB_EDITED", "lag_s", "cosine", "seconds_differing", "unannounced"):
            assert code not in page.text, code  # names, not codes, on the Chinese page
