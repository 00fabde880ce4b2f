"""Property tests of the registry's pure core over random operation sequences: the
conservation law per instrument and vintage (issued = held + surrendered + retired + expired +
cancelled), no serial in two places (checked against a naive per-serial model), replay of the
log equals the live state, and the hash chain names any edited row."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from exreg_helpers import ALICE, BOB, GOV, OP, Book, book, carbon, cod
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bishui.exchange import log as xlog
from bishui.exchange.checks import Refused, RefusedPermission
from bishui.exchange.registry import (
    AccountState,
    Cancel,
    Expire,
    Issue,
    Range,
    Retire,
    Select,
    SetAccountState,
    State,
    Status,
    Surrender,
    Transfer,
    balances,
    integrity,
    replay,
)

SERIES = [cod(2025), cod(2026), carbon(2026)]
REPS = {"HA": ALICE, "HB": BOB, "RES": GOV, "RET": GOV, "CAN": GOV}

series_i = st.integers(0, len(SERIES) - 1)
pick = st.integers(0, 10**6)
HOLDERS = ["HA", "HB", "RES"]  # accounts units can leave
#: how units are named: ("q", percent of what the sender holds of the series — over 100 asks
#: too much) or ("r", offset into one of its blocks, length — sometimes past the block's end)
how = st.one_of(
    st.tuples(st.just("q"), st.integers(1, 110), st.just(0)),
    st.tuples(st.just("r"), pick, st.integers(0, 40)),
)
ops = st.one_of(
    st.tuples(st.just("issue"), st.sampled_from(HOLDERS), series_i, st.integers(1, 80),
              st.booleans()),
    st.tuples(st.just("transfer"), pick, pick, pick, how),
    st.tuples(st.just("transfer"), pick, pick, pick, how),
    st.tuples(st.just("surrender"), pick, st.integers(2024, 2027), pick, how),
    st.tuples(st.just("retire"), pick, pick, pick, how),
    st.tuples(st.just("cancel"), pick, pick, pick, how),
    st.tuples(st.just("expire"), st.integers(0, 300)),
    st.tuples(st.just("state"), st.sampled_from(["HA", "HB"]),
              st.sampled_from([AccountState.OPEN, AccountState.OPEN, AccountState.BLOCKED])),
    st.tuples(st.just("intruder"), pick, pick, pick, how),
)  # fmt: skip

DAY0 = dt.date(2026, 1, 1)
STATUS_AFTER = {"issue": "held", "transfer": "held", "surrender": "surrendered",
                "retire": "retired", "cancel": "cancelled", "expire": "expired"}  # fmt: skip


def _select(state: State, src: str, p: int, h: tuple[str, int, int]) -> Select:
    """Units of *src* picked by the drawn numbers (any unit at all when it holds none)."""
    held = [b for b in state.all_blocks() if b.account == src and b.status is Status.HELD]
    if not held:
        return Select(ranges=(Range(SERIES[p % len(SERIES)], 1 + p % 50, 1 + p % 50 + h[2]),))
    b = held[p % len(held)]
    if h[0] == "q":
        total = sum(x.size for x in held if x.series == b.series)
        s = b.series
        n = max(1, total * h[1] // 100)
        return Select(s.instrument, quantity=n, pollutant=s.pollutant, vintage=s.vintage)
    start = b.start + h[1] % b.size
    end = start + h[2] if h[2] % 6 == 0 else min(start + h[2], b.end)
    return Select(ranges=(Range(b.series, start, end),))


def _request(state: State, op: tuple[Any, ...]) -> tuple[Any, str]:
    holding = sorted(
        {b.account for b in state.all_blocks() if b.status is Status.HELD} & set(HOLDERS)
    )

    def src(p: int) -> str:
        return holding[p % len(holding)] if holding else HOLDERS[p % 3]

    match op:
        case ("issue", acc, i, n, expiring):
            until = dt.date(2026, 6, 30) if expiring and SERIES[i] == carbon(2026) else None
            return Issue(acc, SERIES[i], n, "auction", valid_until=until), OP
        case ("transfer", a, b, p, h):
            # mostly another holding or reserve account; now and then a wrong one
            others = [x for x in HOLDERS if x != src(a)]
            dst = (["RET", src(a)])[b % 2] if b % 10 == 0 else others[b % 2]
            return Transfer(src(a), dst, _select(state, src(a), p, h)), REPS[src(a)]
        case ("surrender", a, year, p, h):
            return Surrender(src(a), year, _select(state, src(a), p, h)), REPS[src(a)]
        case ("retire", a, b, p, h):
            return Retire(src(a), "RET", _select(state, src(a), p, h)), REPS[src(a)]
        case ("cancel", a, b, p, h):
            return Cancel(src(a), "CAN", _select(state, src(a), p, h)), REPS[src(a)]
        case ("expire", days):
            return Expire(DAY0 + dt.timedelta(days=days)), OP
        case ("state", acc, st_):
            return SetAccountState(acc, st_), OP
        case ("intruder", a, b, p, h):
            return Transfer(src(a), HOLDERS[b % 3], _select(state, src(a), p, h)), "mallory"
    raise AssertionError(op)


def _run(sequence: list[tuple[Any, ...]]) -> tuple[Book, dict[tuple[Any, int], tuple[str, str]]]:
    """Run *sequence* on a book and, beside it, on a naive model: one entry per serial."""
    bk = book(0)
    naive: dict[tuple[Any, int], tuple[str, str]] = {}
    for n, op in enumerate(sequence):
        req, actor = _request(bk.state, op)
        time = dt.datetime(2026, 1, 1) + dt.timedelta(days=n * 300 // max(len(sequence), 1))
        try:
            tx = bk.do(req, actor, time=time)
        except (Refused, RefusedPermission):
            continue
        status = STATUS_AFTER.get(tx.kind)
        for r in tx.moves:
            for serial in range(r.start, r.end + 1):
                key = (r.series, serial)
                if tx.kind == "issue":
                    assert key not in naive, "issued twice"
                    naive[key] = (str(tx.target), "held")
                else:
                    acc, st_ = naive[key]
                    assert st_ == "held", f"{key} moved while {st_}"
                    if tx.kind in ("transfer", "surrender", "retire", "cancel"):
                        assert acc == tx.source, f"{key} taken from {tx.source}, held by {acc}"
                    assert status is not None
                    naive[key] = (tx.target or acc, status)
    return bk, naive


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, min_size=3, max_size=40))
def test_conservation_and_one_place_per_serial(sequence: list[tuple[Any, ...]]) -> None:
    bk, naive = _run(sequence)
    state = bk.state
    assert integrity(state) == []
    # the blocks say exactly what the naive per-serial model says
    blocks = {(b.series, s): (b.account, b.status.value)
              for b in state.all_blocks() for s in range(b.start, b.end + 1)}  # fmt: skip
    assert blocks == naive
    # issued = held + surrendered + retired + expired + cancelled, per instrument and vintage
    issued: dict[tuple[str, int], int] = {}
    for tx in bk.log:
        if tx.kind == "issue":
            for r in tx.moves:
                k = (r.series.instrument.value, r.series.vintage)
                issued[k] = issued.get(k, 0) + r.size
    by_status: dict[tuple[str, int], dict[str, int]] = {}
    for (_, status, inst, vintage, _, _), n in balances(state).items():
        by_status.setdefault((inst, vintage), {}).setdefault(status, 0)
        by_status[(inst, vintage)][status] += n
    assert {k: sum(v.values()) for k, v in by_status.items()} == issued
    # replaying the log gives the same state
    again = replay(bk.log)
    assert again.blocks == {s: bs for s, bs in state.blocks.items() if bs}
    assert again.accounts == state.accounts


@settings(max_examples=60, deadline=None)
@given(
    st.lists(ops, min_size=1, max_size=15),
    st.integers(0, 10**6),
    st.sampled_from(["actor", "reason", "body", "ts", "kind", "source", "target", "tx_id"]),
)
def test_the_chain_names_the_first_edited_row(
    sequence: list[tuple[Any, ...]], pick: int, column: str
) -> None:
    bk, _ = _run(sequence)
    rows, prev = [], xlog.GENESIS
    for seq, tx in enumerate(bk.log, start=1):
        row = xlog.to_row(tx, seq, prev)
        rows.append(row)
        prev = row.hash
    assert xlog.verify_chain(rows) is None
    assert [xlog.from_row(r) for r in rows] == bk.log
    i = pick % len(rows)
    old = getattr(rows[i], column)
    new: Any = old + dt.timedelta(seconds=1) if column == "ts" else f"{old}x"
    rows[i] = dataclasses.replace(rows[i], **{column: new})
    fault = xlog.verify_chain(rows)
    assert fault is not None and fault.seq == i + 1


def test_a_log_rewritten_and_rehashed_is_still_refused_on_replay() -> None:
    """Someone who edits a row and recomputes every later hash passes ``verify_chain`` (only an
    anchor outside the database would catch that), but the replay re-runs every check: a
    transfer edited to move serials its sender never held is refused."""
    from bishui.exchange.model import Select as Sel

    bk = book(100)
    bk.do(Transfer("HA", "HB", Sel(ranges=(Range(cod(), 1, 10),))), ALICE)
    rows, prev = [], xlog.GENESIS
    for seq, tx in enumerate(bk.log, start=1):
        if tx.kind == "transfer":  # now 101–110: never issued
            tx = dataclasses.replace(tx, moves=(Range(cod(), 101, 110),))
        row = xlog.to_row(tx, seq, prev)
        rows.append(row)
        prev = row.hash
    assert xlog.verify_chain(rows) is None
    try:
        replay(xlog.from_row(r) for r in rows)
    except Refused as exc:
        assert [r.code for r in exc.refusals] == ["units_not_held"]
    else:
        raise AssertionError("the edited log replayed")
