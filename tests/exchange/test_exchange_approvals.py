"""Four-eyes approval and the trusted-account list (``bishui.exchange.approvals``) on both
backends: every transition of a transfer request and of a trusted-list entry, and each
refusal (the requester approving, a non-representative, a wrong state, a non-operator
releasing, a transfer the registry refuses at release)."""

from __future__ import annotations

import datetime as dt

import pytest
from exreg_helpers import ALICE, BOB, OP
from exsvc_helpers import COD, ready

from bishui.errors import ConflictError, PermissionDenied
from bishui.exchange import approvals as ap
from bishui.exchange import records, service
from bishui.exchange.checks import Refused
from bishui.exchange.instruments import Instrument
from bishui.exchange.registry import Select
from bishui.store import Store

ALICE2 = "alice2"  # HA's second representative
T0 = dt.datetime(2026, 3, 2, 10, 0)  # a Monday
S = ap.load_settings()


def _sel(units: int) -> Select:
    return Select(instrument=Instrument.EMISSION_RIGHT, quantity=units, pollutant=COD)


def _held(store: Store, account: str) -> int:
    return sum(b.size for b in service.holdings(store, account))


def test_settings_and_working_days() -> None:
    assert S.effective_after_working_days == 4 and S.untrusted_delay == dt.timedelta(hours=26)
    assert S.four_eyes_above[Instrument.EMISSION_RIGHT] == 1000
    friday = dt.datetime(2026, 3, 6, 9, 0)
    assert ap.add_working_days(friday, 4) == dt.datetime(2026, 3, 12, 9, 0)  # Thursday
    assert ap.add_working_days(T0, 4) == dt.datetime(2026, 3, 6, 10, 0)


def test_requests_trusted_list_and_refusals(store: Store) -> None:
    ready(store)
    hb0 = _held(store, "HB")
    # below the threshold, to an untrusted account: delayed 26 h, then released
    r = ap.request_transfer(store, "HA", "HB", _sel(100), actor=ALICE, time=T0)
    assert r["state"] == "delayed" and r["release_at"] == T0 + dt.timedelta(hours=26)
    assert ap.release_due(store, actor=ALICE, time=T0 + dt.timedelta(hours=25)) == []
    with pytest.raises(PermissionDenied):
        ap.release_due(store, actor=ALICE, time=T0 + dt.timedelta(hours=27))
    (done,) = ap.release_due(store, actor=OP, time=T0 + dt.timedelta(hours=26))
    assert done["state"] == "done" and done["log_tx"] and _held(store, "HB") == hb0 + 100
    # only a representative of the source asks
    with pytest.raises(PermissionDenied):
        ap.request_transfer(store, "HA", "HB", _sel(100), actor=BOB, time=T0)
    # above the threshold: a second representative approves; not the requester, not another's
    big = ap.request_transfer(store, "HA", "HB", _sel(1200), actor=ALICE, time=T0)
    assert big["state"] == "awaiting_approval" and big["release_at"] is None
    with pytest.raises(Refused) as ei:
        ap.act_on_request(store, big["id"], "approve", actor=ALICE, time=T0)
    assert [x.code for x in ei.value.refusals] == ["four_eyes_same_person"]
    with pytest.raises(PermissionDenied):
        ap.act_on_request(store, big["id"], "approve", actor=BOB, time=T0)
    ok = ap.act_on_request(store, big["id"], "approve", actor=ALICE2, time=T0)
    assert ok["state"] == "delayed" and ok["approved_by"] == ALICE2
    with pytest.raises(ConflictError):
        ap.act_on_request(store, big["id"], "approve", actor=ALICE2, time=T0)
    assert ap.act_on_request(store, big["id"], "cancel", actor=ALICE, time=T0)["state"] == (
        "cancelled"
    )
    with pytest.raises(ConflictError):
        ap.act_on_request(store, big["id"], "cancel", actor=ALICE, time=T0)
    # the trusted list: proposed, approved by another representative, in effect 4 working days on
    ap.propose_trusted(store, "HA", "HB", actor=ALICE, time=T0)
    with pytest.raises(ConflictError):
        ap.propose_trusted(store, "HA", "HB", actor=ALICE2, time=T0)
    with pytest.raises(Refused):
        ap.act_on_trusted(store, "HA", "HB", "approve", actor=ALICE, time=T0)
    with pytest.raises(PermissionDenied):
        ap.act_on_trusted(store, "HA", "HB", "approve", actor=BOB, time=T0)
    e = ap.act_on_trusted(store, "HA", "HB", "approve", actor=ALICE2, time=T0)
    assert e["state"] == "active" and e["effective_at"] == dt.datetime(2026, 3, 6, 10, 0)
    before = ap.request_transfer(store, "HA", "HB", _sel(10), actor=ALICE, time=T0)
    assert before["state"] == "delayed"  # not yet in effect
    t1 = dt.datetime(2026, 3, 6, 10, 0)
    now = ap.request_transfer(store, "HA", "HB", _sel(10), actor=ALICE, time=t1)
    assert now["state"] == "done"
    big2 = ap.request_transfer(store, "HA", "HB", _sel(1001), actor=ALICE2, time=t1)
    assert big2["state"] == "awaiting_approval"
    assert ap.act_on_request(store, big2["id"], "approve", actor=ALICE, time=t1)["state"] == (
        "done"
    )
    # removed at once: delayed again
    assert ap.act_on_trusted(store, "HA", "HB", "remove", actor=ALICE, time=t1)["state"] == (
        "removed"
    )
    assert not ap.is_trusted(store, "HA", "HB", t1)
    with pytest.raises(ConflictError):
        ap.act_on_trusted(store, "HA", "HB", "remove", actor=ALICE, time=t1)
    # a transfer the registry refuses at release: marked refused with the codes
    huge = ap.request_transfer(store, "HA", "HB", _sel(1), actor=ALICE, time=t1)
    store.execute("DELETE FROM exchange_representative WHERE account = 'HA' AND username = ?",
                  [ALICE])  # fmt: skip
    due = ap.release_due(store, actor=OP, time=t1 + dt.timedelta(days=2))
    assert {x["id"] for x in due} == {huge["id"], before["id"]}
    assert {x["state"] for x in due} == {"refused"} and due[0]["note"] == "not_representative"
    assert [x["state"] for x in ap.requests(store, ["HA"])].count("refused") == 2
    assert {x["trusted"] for x in ap.trusted_list(store, "HA")} == {"HB"}
    assert records.verify(store) is None and service.verify(store) is None
    # every request and list entry is chained: an edit by SQL is named
    store.execute("UPDATE exchange_trusted SET state = 'active' WHERE account = 'HA'")
    fault = records.verify(store)
    assert fault is not None and "exchange_trusted HA|HB" in fault.reason
    store.execute("UPDATE exchange_trusted SET state = 'removed' WHERE account = 'HA'")
    store.execute("UPDATE exchange_transfer_request SET state = 'done' WHERE id = ?", [huge["id"]])
    fault = records.verify(store)
    assert fault is not None and f"exchange_transfer_request {huge['id']}" in fault.reason
