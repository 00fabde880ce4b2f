"""The alerts API and page (issue 16 item 4): grouped and paged alerts by scope, acknowledgement
(who and when, within the scope), routing rules (admin), the outbox and the inbox (the bell),
and bad input. The permission matrix (test_web_permissions.py) checks who may call each route;
this checks what they get."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from web_support import COUNTY, login

from bishui.enforcement import service as enf
from bishui.enforcement.intake import AlertIn
from bishui.store import Store
from bishui.timeutil import now_beijing

DAY = dt.date(2026, 3, 2)
T0 = dt.datetime(2026, 3, 2, 8, 0)


def _outlets(store: Store, ent: str) -> tuple[dict[str, Any], dict[str, Any]]:
    mine = store.query(
        "SELECT id, region, enterprise FROM sites WHERE kind LIKE 'source%' AND enterprise = ? "
        "ORDER BY id LIMIT 1",
        [ent],
    )[0]
    other = store.query(
        "SELECT id, region, enterprise FROM sites WHERE kind LIKE 'source%' AND region <> ? "
        "ORDER BY id LIMIT 1",
        [COUNTY],
    )[0]
    return mine, other


@pytest.fixture
def alerts(city_store: Store, users: dict[str, Any]) -> dict[str, Any]:
    """Alerts of an old day (history: no notification) at the enterprise's outlet (in the
    county) and at an outlet of another county; raised once per session store."""
    mine, other = _outlets(city_store, users["enterprise"]["enterprise"])
    made = []
    for n, site in enumerate((mine, other)):
        for i in range(3):
            start = T0 + dt.timedelta(hours=i)
            made.append(
                AlertIn(
                    key=f"a1e7{n:02x}{i:014x}",
                    rule_id="EXC",
                    severity="high",
                    site_code=site["id"],
                    pollutant="a21026",
                    start=start,
                    end=start + dt.timedelta(hours=1),
                    outlet_id="DA001",
                    uscc=site["enterprise"],
                )
            )
    enf.raise_alerts(
        city_store,
        made,
        {mine["id"]: mine["region"], other["id"]: other["region"]},
        now=now_beijing(),
        options=enf.LoopOptions(task_min_severity="high", auto_assign=False),
    )
    return {"mine": mine, "other": other}


def _q(**kw: Any) -> dict[str, Any]:
    return {"start": DAY.isoformat(), "end": DAY.isoformat(), "rule": "EXC", **kw}


async def test_groups_by_scope(
    client: httpx.AsyncClient, users: dict[str, Any], alerts: dict[str, Any]
) -> None:
    await login(client, users["analyst"]["username"])
    r = await client.get("/api/v1/alerts/groups", params=_q())
    assert r.status_code == 200, r.text
    body = r.json()
    sites = {g["site_code"]: g for g in body["items"]}
    assert {alerts["mine"]["id"], alerts["other"]["id"]} <= set(sites)
    g = sites[alerts["mine"]["id"]]
    assert (g["day"], g["n"], g["severity"], g["rule_id"]) == (DAY.isoformat(), 3, "high", "EXC")
    assert g["site_name"] != g["site_code"] and g["region_name"]  # names, not codes
    # paging: one group per page
    r = await client.get("/api/v1/alerts/groups", params=_q(limit=1, offset=1))
    assert r.json()["total"] == body["total"] and len(r.json()["items"]) == 1
    # a group's alerts
    r = await client.get("/api/v1/alerts/items", params=_q(site=alerts["mine"]["id"]))
    assert r.json()["total"] == 3 and {a["ack_by"] for a in r.json()["items"]} == {None}
    for role, seen in (("county", "mine"), ("enterprise", "mine")):
        async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as c:
            await login(c, users[role]["username"])
            items = (await c.get("/api/v1/alerts/groups", params=_q())).json()["items"]
            got = {g["site_code"] for g in items}
            assert alerts[seen]["id"] in got and alerts["other"]["id"] not in got, role


async def test_acknowledge_within_scope(
    client: httpx.AsyncClient, users: dict[str, Any], alerts: dict[str, Any], city_store: Store
) -> None:
    await login(client, users["county"]["username"])
    client.headers["X-CSRF-Token"] = await _csrf(client)
    group = {"site_code": alerts["mine"]["id"], "rule_id": "EXC", "day": DAY.isoformat()}
    r = await client.post("/api/v1/alerts/acknowledge", json={**group, "note": "已通知企业"})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["count"] in (0, 3)  # 0 when another backend's run of this test came first
    again = (await client.post("/api/v1/alerts/acknowledge", json=group)).json()
    assert again["count"] == 0  # once
    rows = city_store.query(
        "SELECT ack_by, ack_at FROM enforcement_alert WHERE site_code = ? AND rule_id = 'EXC' "
        "AND start_ts >= ? AND start_ts < ?",
        [alerts["mine"]["id"], T0, T0 + dt.timedelta(days=1)],
    )
    assert {r["ack_by"] for r in rows} == {users["county"]["username"]}
    assert all(r["ack_at"] is not None for r in rows)
    # the alert list (GET /api/v1/alerts) carries who acknowledged and when
    listed = (await client.get("/api/v1/alerts", params={"limit": 500})).json()["items"]
    mine = [a for a in listed if a["site_code"] == alerts["mine"]["id"] and a["rule_id"] == "EXC"]
    assert mine and {a["ack_by"] for a in mine} >= {users["county"]["username"]}
    assert all(a["ack_at"] for a in mine if a["ack_by"])
    r = await client.get("/api/v1/alerts/groups", params=_q(acked="false"))
    assert alerts["mine"]["id"] not in {g["site_code"] for g in r.json()["items"]}
    # another county's group is not the county's to acknowledge; nor its alert by id
    other = {"site_code": alerts["other"]["id"], "rule_id": "EXC", "day": DAY.isoformat()}
    r = await client.post("/api/v1/alerts/acknowledge", json=other)
    assert r.status_code == 400
    r = await client.post("/api/v1/alerts/acknowledge", json={"ids": ["a1e701" + "0" * 14]})
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("method", "url", "body", "params"),
    [
        ("POST", "/api/v1/alerts/acknowledge", {}, None),
        (
            "POST",
            "/api/v1/alerts/acknowledge",
            {"ids": ["0" * 20], "site_code": "X", "rule_id": "EXC", "day": "2026-03-02"},
            None,
        ),
        ("POST", "/api/v1/alerts/acknowledge", {"ids": ["not-an-id"]}, None),
        ("POST", "/api/v1/alerts/acknowledge", {"ids": []}, None),
        ("POST", "/api/v1/alerts/acknowledge", {"ids": ["0" * 20], "extra": 1}, None),
        ("POST", "/api/v1/alerts/acknowledge", {"ids": ["0" * 20], "note": "x" * 501}, None),
        ("GET", "/api/v1/alerts/groups", None, {"severity": "urgent"}),
        ("GET", "/api/v1/alerts/groups", None, {"state": "open"}),
        ("GET", "/api/v1/alerts/groups", None, {"rule": "EXC%"}),
        ("GET", "/api/v1/alerts/groups", None, {"start": "2026-03-05", "end": "2026-03-01"}),
        ("GET", "/api/v1/alerts/groups", None, {"start": "1900-01-01"}),
        ("GET", "/api/v1/alerts/groups", None, {"limit": 0}),
        ("GET", "/api/v1/alerts/items", None, {"site": "'; DROP TABLE x"}),
        (
            "POST",
            "/api/v1/alert-routes",
            {"name": "x", "recipients": ["everyone"], "channels": ["inapp"]},
            None,
        ),
        (
            "POST",
            "/api/v1/alert-routes",
            {"name": "x", "recipients": ["role:admin"], "channels": ["fax"]},
            None,
        ),
        (
            "POST",
            "/api/v1/alert-routes",
            {"name": "", "recipients": ["role:admin"], "channels": ["inapp"]},
            None,
        ),
        (
            "POST",
            "/api/v1/alert-routes",
            {"name": "x", "recipients": ["role:admin"], "channels": ["inapp"], "min_severity": "x"},
            None,
        ),
        ("GET", "/api/v1/deliveries", None, {"status": "lost"}),
        ("POST", "/api/v1/inbox/seen", {"upto": -1}, None),
    ],
)
async def test_bad_input_is_refused(
    client: httpx.AsyncClient,
    users: dict[str, Any],
    method: str,
    url: str,
    body: Any,
    params: Any,
) -> None:
    await login(client, users["admin"]["username"])
    r = await client.request(
        method, url, json=body, params=params, headers={"X-CSRF-Token": await _csrf(client)}
    )
    assert r.status_code in (400, 422), (url, body, params, r.status_code, r.text[:300])
    assert r.json()["ok"] is False


async def _csrf(client: httpx.AsyncClient) -> str:
    from web_support import csrf_of

    return await csrf_of(client, "/alerts")


async def test_routing_rules_by_the_admin(client: httpx.AsyncClient, users: dict[str, Any]) -> None:
    await login(client, users["admin"]["username"])
    h = {"X-CSRF-Token": await _csrf(client)}
    before = (await client.get("/api/v1/alert-routes")).json()
    assert "dingtalk" in before["channels"] and before["items"]  # the default rule
    rule = {
        "name": "沙洋县值班",
        "region": COUNTY,
        "min_severity": "high",
        "rule_prefix": "EXC",
        "recipients": ["role:county", "tel:13800000001"],
        "channels": ["inapp", "sms"],
    }
    r = await client.post("/api/v1/alert-routes", json=rule, headers=h)
    assert r.status_code == 201, r.text
    made = r.json()["route"]
    assert made["updated_by"] == users["admin"]["username"] and made["id"] > 0
    r = await client.put(
        f"/api/v1/alert-routes/{made['id']}", headers=h, json={**rule, "enabled": False}
    )
    assert r.json()["route"]["enabled"] is False
    items = (await client.get("/api/v1/alert-routes")).json()["items"]
    assert next(i for i in items if i["id"] == made["id"])["enabled"] is False
    r = await client.delete(f"/api/v1/alert-routes/{made['id']}", headers=h)
    assert r.status_code == 200
    r = await client.delete(f"/api/v1/alert-routes/{made['id']}", headers=h)
    assert r.status_code == 404
    r = await client.put("/api/v1/alert-routes/999999", json=rule, headers=h)
    assert r.status_code == 404
    r = await client.get("/api/v1/deliveries", params={"status": "failed", "channel": "sms"})
    assert r.status_code == 200 and r.json()["total"] == 0
    r = await client.post("/api/v1/deliveries/999999/retry", headers=h)
    assert r.status_code == 404


async def test_the_inbox_is_the_callers_own(
    client: httpx.AsyncClient, users: dict[str, Any], city_store: Store
) -> None:
    now = now_beijing().replace(microsecond=0)
    city_store.execute(
        "INSERT INTO enforcement_delivery (created, channel, recipient, subject, body, status, "
        "attempts, next_at) VALUES (?, 'inapp', ?, '给分析员的通知', '', 'sent', 0, ?)",
        [now, f"user:{users['analyst']['username']}", now],
    )
    await login(client, users["analyst"]["username"])
    h = {"X-CSRF-Token": await _csrf(client)}
    box = (await client.get("/api/v1/inbox")).json()
    assert box["unread"] >= 1 and box["items"][0]["subject"] == "给分析员的通知"
    assert all(i["subject"] == "给分析员的通知" for i in box["items"])  # nothing of others'
    r = await client.post("/api/v1/inbox/seen", json={}, headers=h)
    assert r.status_code == 200 and r.json()["seen_id"] == box["items"][0]["id"]
    assert (await client.get("/api/v1/inbox")).json()["unread"] == 0


async def test_the_alerts_page(client: httpx.AsyncClient, users: dict[str, Any]) -> None:
    await login(client, users["county"]["username"])
    page = await client.get("/alerts", headers={"Accept": "text/html"})
    assert page.status_code == 200
    html = page.text
    for zh in ("告警", "待处理", "已立案", "超标", "最低级别", 'id="bell"'):
        assert zh in html, zh
    assert "alert-routes" not in html  # the admin's part
    await client.post("/logout", data={"csrf_token": await _csrf(client)})
    await login(client, users["admin"]["username"])
    html = (await client.get("/alerts", headers={"Accept": "text/html"})).text
    assert 'id="alert-routes"' in html and 'id="alert-deliveries"' in html
    html = (await client.get("/alerts?lang=en", headers={"Accept": "text/html"})).text
    assert "Routing rules" in html and "Severity at least" in html
