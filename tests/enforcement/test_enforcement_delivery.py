"""Alerts that reach people (issue 16 item 4): the senders against local stub HTTP servers that
record what they receive, the outbox's retries, routing, the inbox and acknowledgement."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bishui import settings
from bishui.enforcement import delivery as dl
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.enforcement.intake import AlertIn
from bishui.enforcement.senders import (
    DeliveryFailed,
    DingTalkRobot,
    LogChannel,
    Message,
    Registry,
    SmsGateway,
    WeComRobot,
    dingtalk_sign,
    redact,
    registry_from_config,
)
from bishui.errors import ConfigError, ConflictError, InputError, NotFoundError
from bishui.store import Store

NOW = dt.datetime(2026, 12, 7, 12, 0)
SECRET = "SECf3a9c0d1e2b4a5968778695a4b3c2d1e0f"
KEY = "6a1f0d2c-0000-4bc4-97a0-0ec2aaaa5aaa"


class Stub:
    """A local HTTP server that records each request and answers as told."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        self.answer: bytes = b'{"errcode": 0, "errmsg": "ok"}'
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                parts = urllib.parse.urlsplit(self.path)
                stub.requests.append(
                    {
                        "path": parts.path,
                        "query": urllib.parse.parse_qs(parts.query),
                        "raw_query": parts.query,
                        "headers": dict(self.headers),
                        "body": json.loads(body.decode("utf-8")),
                    }
                )
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(stub.answer)))
                self.end_headers()
                self.wfile.write(stub.answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub() -> Iterator[Stub]:
    s = Stub()
    yield s
    s.close()


def _msg(subject: str = "新告警：甲化工 DA001（高）", body: str = "超标 · 二氧化硫") -> Message:
    return Message(1, "wecom", "group", subject, body)


# ------------------------------------------------------------------------------ senders
def test_wecom_robot_posts_markdown_and_text(stub: Stub) -> None:
    url = f"{stub.url}/cgi-bin/webhook/send?key={KEY}"
    WeComRobot(url).deliver(_msg())
    WeComRobot(url, "text").deliver(_msg(body="氨" * 1000))  # 3000 bytes of UTF-8
    md, text = stub.requests
    assert md["path"] == "/cgi-bin/webhook/send" and md["query"] == {"key": [KEY]}
    assert md["headers"]["Content-Type"].startswith("application/json")
    assert md["body"] == {
        "msgtype": "markdown",
        "markdown": {"content": "**新告警：甲化工 DA001（高）**\n超标 · 二氧化硫"},
    }
    assert text["body"]["msgtype"] == "text"
    content = text["body"]["text"]["content"]
    assert content.startswith("新告警：甲化工 DA001（高）\n氨")
    assert len(content.encode("utf-8")) <= 2048  # WeChat Work's limit, cut on a character


def test_dingtalk_robot_signs_timestamp_and_secret(stub: Stub) -> None:
    url = f"{stub.url}/robot/send?access_token=tok123"
    DingTalkRobot(url, SECRET, clock=lambda: 1765080000.5).deliver(_msg())
    DingTalkRobot(url, "", "text").deliver(_msg())
    signed, plain = stub.requests
    q = signed["query"]
    assert q["access_token"] == ["tok123"] and q["timestamp"] == ["1765080000500"]
    # the receiving side's check: HMAC-SHA256 over "timestamp\nsecret" keyed with the secret
    expected = hmac.new(SECRET.encode(), f"1765080000500\n{SECRET}".encode(), hashlib.sha256)
    assert base64.b64decode(q["sign"][0]) == expected.digest()
    assert dingtalk_sign(1765080000500, SECRET) in signed["raw_query"]  # URL-encoded as sent
    assert signed["body"] == {
        "msgtype": "markdown",
        "markdown": {
            "title": "新告警：甲化工 DA001（高）",
            "text": "### 新告警：甲化工 DA001（高）\n\n超标 · 二氧化硫",
        },
    }
    assert "sign" not in plain["query"] and "timestamp" not in plain["query"]
    assert plain["body"] == {
        "msgtype": "text",
        "text": {"content": "新告警：甲化工 DA001（高）\n超标 · 二氧化硫"},
    }


def test_sms_gateway_template_and_credentials(stub: Stub) -> None:
    sms = SmsGateway(
        f"{stub.url}/sms/send",
        user="bureau",
        password="pa:ss",
        template="【碧水】$subject",
        body='{"mobile": $to, "content": $text, "n": 1}',
    )
    sms.deliver(Message(7, "sms", "tel:13800000001", "新告警 3 条", "…"))
    (req,) = stub.requests
    assert req["body"] == {"mobile": "13800000001", "content": "【碧水】新告警 3 条", "n": 1}
    auth = req["headers"]["Authorization"]
    assert base64.b64decode(auth.removeprefix("Basic ")) == b"bureau:pa:ss"
    with pytest.raises(DeliveryFailed, match="tel:"):
        sms.deliver(Message(8, "sms", "role:inspector", "s", "b"))
    # no user: no credentials; the default JSON
    SmsGateway(f"{stub.url}/sms").deliver(Message(9, "sms", "tel:139", 'a "quoted"', "b"))
    assert "Authorization" not in stub.requests[-1]["headers"]
    assert stub.requests[-1]["body"] == {"to": "139", "text": 'a "quoted" b'}
    with pytest.raises(ConfigError):
        SmsGateway(f"{stub.url}/sms", body='{"to": $to, "text": $missing}')
    with pytest.raises(ConfigError):
        SmsGateway(f"{stub.url}/sms", body="{not json $to $text")


def test_failures_are_reported_without_the_secret(stub: Stub) -> None:
    url = f"{stub.url}/cgi-bin/webhook/send?key={KEY}"
    stub.answer = b'{"errcode": 93000, "errmsg": "invalid webhook url"}'
    with pytest.raises(DeliveryFailed) as e:
        WeComRobot(url).deliver(_msg())
    assert "93000" in str(e.value) and KEY not in str(e.value)
    stub.status, stub.answer = 500, b"{}"
    with pytest.raises(DeliveryFailed, match="HTTP 500") as e:
        DingTalkRobot(f"{stub.url}/robot/send?access_token={KEY}", SECRET).deliver(_msg())
    assert KEY not in str(e.value) and "sign" not in str(e.value)
    with pytest.raises(DeliveryFailed, match="HTTP 500"):
        SmsGateway(f"{stub.url}/sms").deliver(Message(1, "sms", "tel:1", "s", "b"))
    stub.status, stub.answer = 200, b"not json"
    with pytest.raises(DeliveryFailed, match="not JSON"):
        WeComRobot(url).deliver(_msg())
    stub.close()  # nobody listening
    with pytest.raises(DeliveryFailed) as e:
        WeComRobot(url, timeout=2).deliver(_msg())
    assert KEY not in str(e.value)
    assert redact(f"https://u:p@qyapi.example/x/send?key={KEY}") == "https://qyapi.example/x/send"


def test_registry_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {
        "BISHUI_ALERTS_CHANNELS": "log, wecom,dingtalk,sms",
        "BISHUI_ALERTS_WECOM_WEBHOOK": f"https://wecom.example/send?key={KEY}",
        "BISHUI_ALERTS_DINGTALK_WEBHOOK": "https://ding.example/robot/send?access_token=t",
        "BISHUI_ALERTS_DINGTALK_SECRET": SECRET,
        "BISHUI_ALERTS_SMS_URL": "http://sms.example/",
        "BISHUI_ALERTS_MAX_ATTEMPTS": "3",
        "BISHUI_ALERTS_TIMEOUT": "2.5",
    }
    config = settings.alerts_config(env)
    assert config["max_attempts"] == 3 and config["timeout"] == 2.5
    assert config["sms_template"] == "$subject $body"  # the default
    reg = registry_from_config(config)
    assert reg.channels == ("inapp", "dingtalk", "log", "sms", "wecom")
    assert isinstance(reg.get("dingtalk"), DingTalkRobot) and reg.get("inapp") is None
    assert registry_from_config(settings.alerts_config({})).channels == ("inapp", "log")
    with pytest.raises(ConfigError):
        settings.alerts_config({"BISHUI_ALERTS_MAX_ATTEMPTS": "many"})
    for bad in (
        {"channels": "fax"},
        {"channels": "wecom"},
        {"channels": "dingtalk", "dingtalk_webhook": "ftp://x/"},
        {"channels": "wecom", "wecom_webhook": "https://x/", "wecom_msgtype": "news"},
        {"channels": "dingtalk", "dingtalk_webhook": "https://x/", "dingtalk_msgtype": "card"},
    ):
        with pytest.raises(ConfigError):
            registry_from_config(bad)
    secrets = [s for s in settings.ALERTS if s.secret]
    assert {s.name for s in secrets} == {
        "sms_password",
        "wecom_webhook",
        "dingtalk_webhook",
        "dingtalk_secret",
    }
    assert all(s.default == "" for s in secrets)  # never a value in code


# ------------------------------------------------------------------------------ the outbox
def _setup(store: Store) -> None:
    store.upsert(
        "regions",
        [
            {"code": "420800", "name": "荆门市", "kind": "city", "central": False, "parent": None},
            {
                "code": "420822",
                "name": "沙洋县",
                "kind": "county",
                "parent": "420800",
                "central": False,
            },
        ],
    )


def _alert(
    i: int,
    *,
    site: str = "S1",
    rule: str = "EXC",
    severity: str = "high",
    ended: dt.timedelta = dt.timedelta(hours=1),
    uscc: str = "U1",
) -> AlertIn:
    end = NOW - ended
    return AlertIn(
        key=f"{i:020x}",
        rule_id=rule,
        severity=severity,
        site_code=site,
        pollutant="a21026",
        start=end - dt.timedelta(hours=1),
        end=end,
        outlet_id="DA001",
        uscc=uscc,
    )


def _route(store: Store, **kw: Any) -> dl.Route:
    base: dict[str, Any] = {
        "name": "值班",
        "recipients": ("role:inspector",),
        "channels": ("inapp",),
    }
    return dl.save_route(store, dl.Route(**{**base, **kw}), "admin1", "admin", NOW)


def _rows(store: Store, where: str = "TRUE") -> list[dict[str, Any]]:
    return store.query(
        "SELECT id, channel, recipient, subject, body, alert_id, status, attempts, next_at, "
        f"last_error FROM enforcement_delivery WHERE {where} ORDER BY id"
    )


def test_live_alerts_are_routed_history_is_not(store: Store, stub: Stub) -> None:
    _setup(store)
    _route(
        store,
        name="钉钉群",
        rule_prefix="EXC",
        channels=("dingtalk", "wecom", "sms", "log"),
        recipients=("role:inspector", "tel:13800000001", "tel:13800000002"),
    )
    _route(store, name="停用", enabled=False, channels=("wecom",))
    live = [_alert(i) for i in range(12)]
    history = [_alert(100 + i, ended=dt.timedelta(days=30)) for i in range(500)]
    low = [_alert(900, severity="low")]  # under the default rule's medium
    enf.raise_alerts(
        store,
        [*live, *history, *low],
        {"S1": "420822"},
        now=NOW,
        options=enf.LoopOptions(auto_assign=False),
    )
    out = _rows(store, "channel <> 'inapp' OR recipient LIKE 'role:%'")
    by = {(r["channel"], r["recipient"]) for r in out}
    # the seeded default rule (in-app, staff) and the DingTalk rule; the disabled one sends nothing
    assert by == {
        ("inapp", "role:admin"),
        ("inapp", "role:inspector"),
        ("dingtalk", "group"),
        ("wecom", "group"),
        ("log", "group"),
        ("sms", "tel:13800000001"),
        ("sms", "tel:13800000002"),
        ("inapp", "role:supervisor"),
    }
    ding = next(r for r in out if r["channel"] == "dingtalk")
    # one digest for the 12 live alerts (the 500 from history and the low one are not in it)
    assert ding["subject"] == "新告警 12 条（最高级别高）"
    assert ding["body"].count("\n") == 11 and "另有 2 条，见告警页面" in ding["body"]
    assert ding["status"] == "pending" and ding["alert_id"] is None
    # delivery: the robots and the SMS gateway are the stub
    reg = Registry(
        {
            "dingtalk": DingTalkRobot(f"{stub.url}/ding?access_token=t", SECRET),
            "wecom": WeComRobot(f"{stub.url}/wecom?key={KEY}"),
            "sms": SmsGateway(f"{stub.url}/sms"),
            "log": LogChannel(),
        }
    )
    report = dl.deliver_due(store, reg, NOW)
    assert report == dl.DeliveryReport(sent=5)
    paths = sorted(r["path"] for r in stub.requests)
    assert paths == ["/ding", "/sms", "/sms", "/wecom"]
    assert {r["body"].get("to") for r in stub.requests if r["path"] == "/sms"} == {
        "13800000001",
        "13800000002",
    }
    assert not _rows(store, "status = 'pending'")
    assert dl.deliver_due(store, reg, NOW) == dl.DeliveryReport()  # nothing twice


def test_a_sender_that_is_down_loses_nothing(store: Store, stub: Stub) -> None:
    _setup(store)
    _route(store, name="企业微信", channels=("wecom",))
    enf.raise_alerts(
        store,
        [_alert(1)],
        {"S1": "420822"},
        now=NOW,
        options=enf.LoopOptions(task_min_severity="high", auto_assign=False),
    )
    reg = Registry({"wecom": WeComRobot(f"{stub.url}/wecom?key={KEY}")})
    retry = dl.RetryPolicy(max_attempts=3, retry_seconds=30)
    stub.status, stub.answer = 503, b"{}"
    assert dl.deliver_due(store, reg, NOW, retry) == dl.DeliveryReport(retried=1)
    (row,) = _rows(store, "channel = 'wecom'")
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert row["next_at"] == NOW + dt.timedelta(seconds=30) and "HTTP 503" in row["last_error"]
    assert KEY not in row["last_error"]
    # not due yet: nothing is tried
    assert dl.deliver_due(store, reg, NOW + dt.timedelta(seconds=29), retry) == dl.DeliveryReport()
    t2 = NOW + dt.timedelta(seconds=30)
    assert dl.deliver_due(store, reg, t2, retry) == dl.DeliveryReport(retried=1)
    (row,) = _rows(store, "channel = 'wecom'")
    assert row["next_at"] == t2 + dt.timedelta(seconds=60)  # doubling
    t3 = t2 + dt.timedelta(seconds=60)
    assert dl.deliver_due(store, reg, t3, retry) == dl.DeliveryReport(failed=1)
    (row,) = _rows(store, "channel = 'wecom'")
    assert (row["status"], row["attempts"]) == ("failed", 3)
    total, listed = dl.list_deliveries(store, status="failed")
    assert total == 1 and listed[0]["id"] == row["id"]
    # the admin sends it again once the robot is back
    with pytest.raises(NotFoundError):
        dl.retry_delivery(store, 999_999, t3)
    dl.retry_delivery(store, row["id"], t3)
    with pytest.raises(ConflictError):
        dl.retry_delivery(store, row["id"], t3)
    stub.status, stub.answer = 200, b'{"errcode": 0}'
    assert dl.deliver_due(store, reg, t3, retry) == dl.DeliveryReport(sent=1)
    assert len(stub.requests) == 4
    # a channel this process has no sender for waits for one that has (nothing is lost)
    _route(store, name="短信", channels=("sms",), recipients=("tel:13800000009",))
    enf.raise_alerts(
        store,
        [_alert(2)],
        {"S1": "420822"},
        now=NOW,
        options=enf.LoopOptions(task_min_severity="high", auto_assign=False),
    )
    # (the WeChat Work rule takes this alert too, and sends it)
    assert dl.deliver_due(store, reg, t3, retry) == dl.DeliveryReport(sent=1)
    (sms,) = _rows(store, "channel = 'sms'")
    assert (sms["status"], sms["attempts"], sms["last_error"]) == ("pending", 0, None)
    assert dl.deliver_due(store, Registry({}), t3, retry) == dl.DeliveryReport()


def test_two_delivering_processes_never_send_a_row_twice(store: Store, stub: Stub) -> None:
    """A claim moves the row's next try ahead: a second pass (another process) in the lease
    sees nothing; a process that died holding the claim leaves the row for the next pass after
    the lease."""
    _setup(store)
    _route(store, name="企业微信", channels=("wecom",))
    enf.raise_alerts(
        store,
        [_alert(1)],
        {"S1": "420822"},
        now=NOW,
        options=enf.LoopOptions(task_min_severity="high", auto_assign=False),
    )

    class Dies:
        def deliver(self, message: Message) -> None:
            raise SystemExit  # the process ends mid-send: nothing is recorded

    with pytest.raises(SystemExit):
        dl.deliver_due(store, Registry({"wecom": Dies()}), NOW)
    reg = Registry({"wecom": WeComRobot(f"{stub.url}/wecom?key={KEY}")})
    assert dl.deliver_due(store, reg, NOW + dt.timedelta(minutes=9)) == dl.DeliveryReport()
    assert dl.deliver_due(store, reg, NOW + dl.CLAIM_LEASE) == dl.DeliveryReport(sent=1)
    assert len(stub.requests) == 1


def test_a_broken_sender_does_not_stop_the_others(store: Store) -> None:
    class Broken:
        def deliver(self, message: Message) -> None:
            raise RuntimeError("bug")

    _setup(store)
    _route(store, name="两个", channels=("wecom", "log"))
    enf.raise_alerts(
        store,
        [_alert(1)],
        {"S1": "420822"},
        now=NOW,
        options=enf.LoopOptions(task_min_severity="high", auto_assign=False),
    )
    log = LogChannel()
    assert dl.deliver_due(store, Registry({"wecom": Broken(), "log": log}), NOW) == (
        dl.DeliveryReport(sent=1, retried=1)
    )
    assert [m.subject for m in log.sent] == ["新告警：S1（高）"]
    assert _rows(store, "channel = 'wecom'")[0]["last_error"] == "RuntimeError"


def test_routing_rules_match_and_validate(store: Store) -> None:
    _setup(store)
    for kw in (
        {"min_severity": "urgent"},
        {"recipients": ("everyone",)},
        {"recipients": ()},
        {"channels": ("fax",)},
        {"channels": ()},
        {"name": " "},
        {"subject_kind": "river"},
        {"rule_prefix": "EXC%"},
        {"region": "42 08"},
    ):
        with pytest.raises(InputError):
            dl.Route(**{"name": "x", "recipients": ("role:admin",), **kw})
    r = dl.Route(
        "x",
        min_severity="medium",
        rule_prefix="water.",
        subject_kind="water_source",
        region="420822",
        recipients=("role:county",),
    )
    from bishui.enforcement.alerts import Alert

    a = Alert(
        "k",
        "water.exceedance",
        "high",
        "D1",
        "",
        "w21003",
        NOW,
        NOW,
        "",
        NOW,
        {},
        subject_kind="water_source",
    )
    assert r.matches(a, "420822")
    assert not r.matches(a, "420881")  # another county
    assert not r.matches(dataclass_replace(a, severity="low"), "420822")
    assert not r.matches(dataclass_replace(a, rule_id="EXC"), "420822")
    assert not r.matches(dataclass_replace(a, subject_kind="outlet"), "420822")
    assert not dataclass_replace(r, enabled=False).matches(a, "420822")
    # saving, replacing and deleting are audited; the default rule is there from the migration
    (default,) = dl.list_routes(store)
    assert default.channels == ("inapp",) and default.min_severity == "medium"
    saved = _route(store, name="县级", region="420822")
    replaced = dl.save_route(
        store,
        dataclass_replace(saved, name="县级值班"),
        "admin2",
        "admin",
        NOW + dt.timedelta(minutes=1),
    )
    assert (replaced.id, replaced.name, replaced.updated_by) == (saved.id, "县级值班", "admin2")
    with pytest.raises(NotFoundError):
        dl.save_route(store, dataclass_replace(saved, id=999), "a", "admin", NOW)
    dl.delete_route(store, saved.id, "admin2", "admin", NOW + dt.timedelta(minutes=2))
    with pytest.raises(NotFoundError):
        dl.delete_route(store, saved.id, "admin2", "admin", NOW + dt.timedelta(minutes=2))
    events = enf.audit_events(store, f"route:{saved.id}")
    assert [(e.action, e.actor) for e in events] == [
        ("route_set", "admin1"),
        ("route_set", "admin2"),
        ("route_delete", "admin2"),
    ]
    assert events[1].payload["name"] == "县级值班"
    assert enf.verify_audit(store) == 3


def dataclass_replace(obj: Any, **kw: Any) -> Any:
    import dataclasses

    return dataclasses.replace(obj, **kw)


def test_the_inbox_and_what_each_reader_sees(store: Store) -> None:
    _setup(store)
    enf.raise_alerts(store, [_alert(1, uscc="U1")], {"S1": "420822"}, now=NOW)  # opens a task
    inspector = dl.Reader("insp1", "inspector")
    admin = dl.Reader("adm1", "admin")
    ent = dl.Reader("ent1", "enterprise", "U1")
    analyst = dl.Reader("ana1", "analyst")
    box = dl.inbox(store, inspector)
    subjects = [i["subject"] for i in box["items"]]
    # the alert (default rule: role:inspector) and the task assigned to the county's team
    assert box["unread"] == 2 and any(s.startswith("新告警") for s in subjects)
    assert any("已分派给您" in s for s in subjects)
    assert dl.inbox(store, admin)["unread"] == 2  # the alert and the new task (supervisor)
    assert dl.inbox(store, analyst)["total"] == 0
    assert dl.inbox(store, ent)["total"] == 0
    task_id = enf.list_tasks(store)[1][0]["id"]
    actor = tk.Actor("insp1", tk.Role.INSPECTOR)
    enf.transition(store, task_id, "visit", actor, now=NOW, note="现场检查")
    enf.transition(
        store,
        task_id,
        "dispose",
        actor,
        now=NOW,
        kind="rectification_order",
        due=(NOW + dt.timedelta(days=10)).date().isoformat(),
        requirement="整改",
    )
    box = dl.inbox(store, ent)
    assert box["unread"] == 1 and "处置决定" in box["items"][0]["subject"]
    # marking seen: up to an id, then everything
    first = dl.inbox(store, inspector)["items"][-1]["id"]
    assert dl.mark_seen(store, inspector, first) == first
    assert dl.inbox(store, inspector)["unread"] == 1
    dl.mark_seen(store, inspector)
    box = dl.inbox(store, inspector)
    assert box["unread"] == 0 and not any(i["unread"] for i in box["items"])
    assert dl.mark_seen(store, inspector, 1) >= first  # never backwards
    assert dl.inbox(store, ent)["unread"] == 1  # per reader


def test_acknowledging_records_who_and_when(store: Store) -> None:
    _setup(store)
    enf.raise_alerts(
        store,
        [_alert(1), _alert(2), _alert(3, site="S2")],
        {"S1": "420822", "S2": "420881"},
        now=NOW,
        options=enf.LoopOptions(task_min_severity="high", auto_assign=False),
    )
    ids = [f"{i:020x}" for i in (1, 2, 3)]
    later = NOW + dt.timedelta(minutes=5)
    # a county official acknowledges within its region only
    done = dl.acknowledge(
        store, ids, "county1", "county", later, "region IN (?)", ["420822"], note="已电话通知企业"
    )
    assert done == ids[:2]
    assert dl.acknowledge(store, ids[:2], "insp", "inspector", later) == []  # already
    with pytest.raises(NotFoundError):
        dl.acknowledge(store, ids[2:], "county1", "county", later, "region IN (?)", ["420822"])
    with pytest.raises(NotFoundError):
        dl.acknowledge(store, ["f" * 20], "insp", "inspector", later)
    with pytest.raises(InputError):
        dl.acknowledge(store, [], "insp", "inspector", later)
    rows = store.query("SELECT id, ack_by, ack_at, state FROM enforcement_alert ORDER BY id")
    assert [(r["ack_by"], r["ack_at"]) for r in rows] == [("county1", later)] * 2 + [(None, None)]
    (ev,) = [e for e in enf.audit_events(store, f"alert:{ids[0]}") if e.action == "acknowledge"]
    assert (ev.actor, ev.role, ev.time, ev.payload) == (
        "county1",
        "county",
        later,
        {"note": "已电话通知企业"},
    )
    assert ev.from_state == ev.to_state == "tasked"  # the state does not change
    enf.verify_audit(store)


def test_groups_page_the_alerts_server_side(store: Store) -> None:
    _setup(store)
    store.upsert(
        "sites",
        [
            {
                "id": "S1",
                "kind": "source_gas",
                "name": "甲化工 1号排口",
                "region": "420822",
                "drinking_source": False,
                "assessment": False,
                "attrs": {},
            }
        ],
    )
    alerts = [_alert(i, ended=dt.timedelta(hours=1 + i)) for i in range(30)]  # over two days
    alerts += [
        _alert(100 + i, rule="FLAT", severity="medium", ended=dt.timedelta(hours=1 + i))
        for i in range(5)
    ]
    enf.raise_alerts(
        store,
        alerts,
        {"S1": "420822"},
        now=NOW,
        options=enf.LoopOptions(task_min_severity="high", auto_assign=False),
    )
    total, rows = dl.alert_groups(store, "TRUE", [], dl.AlertFilter(), limit=2, offset=0)
    assert total == 3  # EXC on two days, FLAT on one
    first = rows[0]
    assert (first["day"], first["rule_id"], first["severity"], first["site_name"]) == (
        NOW.date(),
        "EXC",
        "high",
        "甲化工 1号排口",
    )
    assert first["n"] == 11 and first["n_unacked"] == 11 and first["region_name"] == "沙洋县"
    assert rows[1]["rule_id"] == "FLAT" and rows[1]["severity"] == "medium"
    _, rest = dl.alert_groups(store, "TRUE", [], dl.AlertFilter(), limit=2, offset=2)
    assert [(r["day"], r["n"]) for r in rest] == [(NOW.date() - dt.timedelta(days=1), 19)]
    flt = dl.AlertFilter(severity="high", day_from=NOW.date(), day_to=NOW.date())
    assert dl.alert_groups(store, "TRUE", [], flt, limit=10, offset=0)[0] == 1
    assert dl.alert_groups(store, "TRUE", [], dl.AlertFilter(rule="FL"), limit=10, offset=0)[0] == 1
    assert (
        dl.alert_groups(store, "region IN (?)", ["420881"], dl.AlertFilter(), limit=10, offset=0)[0]
        == 0
    )
    n, items = dl.alerts_in_group(
        store, "TRUE", [], dl.AlertFilter(site="S1", rule="FLAT"), limit=3, offset=0
    )
    assert n == 5 and len(items) == 3 and items[0]["site_name"] == "甲化工 1号排口"
    dl.acknowledge(store, [i["id"] for i in items], "a", "admin", NOW)
    assert (
        dl.alert_groups(store, "TRUE", [], dl.AlertFilter(acked=True), limit=10, offset=0)[1][0][
            "n"
        ]
        == 3
    )
    assert (
        dl.alert_groups(
            store, "TRUE", [], dl.AlertFilter(acked=False, rule="FLAT"), limit=10, offset=0
        )[1][0]["n_unacked"]
        == 2
    )


def test_the_runtime_loop_sends_the_outbox(store: Store) -> None:
    from bishui.runtime import _deliverer

    _setup(store)
    _route(store, name="日志", channels=("log",))
    from bishui.timeutil import now_beijing

    at = now_beijing().replace(microsecond=0)
    live = dataclass_replace(
        _alert(1), start=at - dt.timedelta(hours=2), end=at - dt.timedelta(hours=1)
    )
    enf.raise_alerts(
        store, [live], {"S1": "420822"}, now=at, options=enf.LoopOptions(task_min_severity="high")
    )
    config = {**settings.alerts_config({}), "deliver_every": 0.05}

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(_deliverer(store, stop, config))
        for _ in range(200):
            if not _rows(store, "status = 'pending'"):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await task

    asyncio.run(run())
    assert [r["status"] for r in _rows(store, "channel = 'log'")] == ["sent"]
