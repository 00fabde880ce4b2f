"""Issue 13 row 9, both backends: history is never rewritten silently.

A registered device re-sending a value for an hour 3 days ago used to replace the stored value
(10.4 → 999.9) with no trace; one 400 days old was accepted. Now: older than the backfill
window → quarantined ``too_old`` (releasable after review); a changed re-delivery keeps the
previous value in ``measurement_revision`` and marks the value ``revised``; an identical one is
a no-op.
"""

from __future__ import annotations

import datetime as dt

from bishui.hj212 import Packet, encode
from bishui.ingest.packets import Context, frame_batch
from bishui.registry import Device, DeviceParameter
from bishui.store import Store

DEV = Device("HIST001", "S1", "pw", "32", parameters=(DeviceParameter("w01018", "mg/L", 0, 1e6),))
NOW = dt.datetime(2026, 12, 7, 10, 0)


def hour_frame(t: dt.datetime, value: str, qn: str, flag: str = "N") -> tuple[bytes, Packet]:
    cp = {"DataTime": f"{t:%Y%m%d%H%M%S}", "w01018-Avg": value, "w01018-Flag": flag}
    p = Packet.make(qn=qn, st="32", cn="2061", pw="pw", mn=DEV.mn, flag=5, cp=cp)
    return encode(p), p


def deliver(store: Store, t: dt.datetime, value: str, qn: str, *, at: dt.datetime = NOW) -> None:
    raw, p = hour_frame(t, value, qn)
    store.write_batch(frame_batch(raw, p, DEV, Context(at, "10.0.0.9:5000")))


def stored(store: Store, t: dt.datetime) -> dict:
    (row,) = store.query(
        "SELECT value, source, revised FROM measurement WHERE site_id = 'S1' AND ts = ?", [t]
    )
    return row


def test_changed_redelivery_keeps_the_previous_value(store: Store) -> None:
    t = NOW - dt.timedelta(days=3)
    deliver(store, t, "10.4", "20261204100000001")
    assert stored(store, t) == {"value": 10.4, "source": "20261204100000001", "revised": False}
    deliver(store, t, "999.9", "20261207100000002", at=NOW + dt.timedelta(minutes=5))
    row = stored(store, t)
    assert row["value"] == 999.9 and row["revised"] is True
    (rev,) = store.revisions("S1")
    assert rev["old_value"] == 10.4 and rev["new_value"] == 999.9
    assert rev["old_source"] == "20261204100000001" and rev["new_source"] == "20261207100000002"
    assert rev["revised_at"] == NOW + dt.timedelta(minutes=5) and rev["revised_by"] == "logger"
    # the raw log still holds both frames: which frame revised it is findable by its QN
    assert store.count("raw_log", "qn = ?", ["20261207100000002"]) == 1


def test_identical_redelivery_is_a_no_op(store: Store) -> None:
    t = NOW - dt.timedelta(hours=5)
    deliver(store, t, "10.4", "20261207050000001")
    deliver(store, t, "10.4", "20261207050000009", at=NOW + dt.timedelta(hours=1))
    row = stored(store, t)
    assert row == {"value": 10.4, "source": "20261207050000001", "revised": False}
    assert store.revisions("S1") == []
    # a revised value re-delivered identically stays revised, with one revision
    deliver(store, t, "11.0", "20261207050000010")
    deliver(store, t, "11.0", "20261207050000011")
    assert stored(store, t)["revised"] is True
    assert len(store.revisions("S1")) == 1


def test_older_than_the_backfill_window_is_quarantined(store: Store) -> None:
    t = NOW - dt.timedelta(days=400)
    deliver(store, t, "999.9", "20261207100000003")
    assert store.count("measurement") == 0
    (q,) = store.query("SELECT id, reason, field, value FROM quarantine")
    assert q["reason"] == "too_old" and q["field"] == "DataTime"
    # a reviewer can still release it into the series
    store.quarantine_release(q["id"], "reviewer", "confirmed with the enterprise")
    assert store.count("measurement") == 1


def test_backfill_window_is_configurable() -> None:
    raw, p = hour_frame(NOW - dt.timedelta(days=400), "1", "20261207100000004")
    ctx = Context(NOW, None, backfill_window=None)
    assert frame_batch(raw, p, DEV, ctx).rows
    ctx = Context(NOW, None, backfill_window=dt.timedelta(days=1))
    raw, p = hour_frame(NOW - dt.timedelta(days=3), "1", "20261207100000005")
    assert [q.reason for q in frame_batch(raw, p, DEV, ctx).quarantine] == ["too_old"]
