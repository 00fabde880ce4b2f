"""Emission rights through their life on the store: parties, initial determination (核定) from
the permits in force, the verified history and the area's cap → issuance; 定额出让 fees with
instalments paid through the money ledger; permits amended to the determined quantities;
expiry as a periodic task.

Sources (exchange-and-permits notes §A2): 国办发〔2014〕38号 — the right is determined, confirmed
in the discharge permit, within the cap, re-determined every five years; 财税〔2015〕61号 — the
fee is the confirmed quantity × the provincial rate, the right is valid five years in
principle, large fees may be paid in instalments. The formula's parameters, the cap and the fee
schedule are the caller's (docs/exchange.md "Determination"); nothing here sets a number.

Every function takes the store and the acting user; a web router may call them directly.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bishui.errors import InputError, NotFoundError
from bishui.exchange import ledger, records, service
from bishui.exchange.checks import Refusal, permit_consistency
from bishui.exchange.instruments import Instrument, from_units, right_pollutant
from bishui.exchange.ledger import CashKind, Posting
from bishui.exchange.market import determination as det
from bishui.exchange.market import fees as mfees
from bishui.exchange.market.restrictions import Party
from bishui.exchange.registry import Expire, Issue, Series
from bishui.sources import permit_store
from bishui.sources import service as sources_service
from bishui.sources.permits import Permit, amend
from bishui.store import Store
from bishui.store.base import Transaction as StoreTx

#: The government's fee-income and reserve-fund cash accounts (财税〔2015〕61号: 出让收入).
FEE_INCOME = "GOV-FEE"
RESERVE_FUND = "GOV-RESERVE"


# -- parties -------------------------------------------------------------------------------
def set_party(store: Store, party: Party, *, actor: str) -> None:
    """Record (or replace) what the trade restrictions need to know of an entity: region,
    basin, sector, thermal power, whether its area attains its targets. Operators only."""
    require_operator(store, actor)
    with store.transaction() as tx:
        set_party_in(tx, party, actor=actor)


def set_party_in(tx: StoreTx, party: Party, *, actor: str) -> None:
    """:func:`set_party` inside the caller's transaction; the caller has checked that *actor*
    is an operator (:func:`require_operator`)."""
    tx.execute("DELETE FROM exchange_party WHERE entity = ?", [party.party_id])
    tx.execute(
        "INSERT INTO exchange_party (entity, region, basin, sector, thermal_power, "
        "attains, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [party.party_id, party.region, party.basin, party.sector, party.thermal_power,
         party.area_attains_targets, actor],
    )  # fmt: skip


def get_party(store: Store, entity: str) -> Party:
    """The recorded :class:`Party` of *entity*; ``NotFoundError`` when none is recorded."""
    rows = store.query(
        "SELECT entity, region, basin, sector, thermal_power, attains FROM exchange_party "
        "WHERE entity = ?",
        [entity],
    )
    if not rows:
        raise NotFoundError(f"no trading profile for entity {entity!r}")
    r = rows[0]
    return Party(
        r["entity"], r["region"], r["basin"], r["sector"], bool(r["thermal_power"]),
        bool(r["attains"]),
    )  # fmt: skip


def require_operator(store: Store, actor: str) -> None:
    """Refuse (``RefusedPermission``, ``not_operator``) unless *actor* is a registry operator."""
    ops = {r["username"] for r in store.query("SELECT username FROM exchange_operator")}
    if actor not in ops:
        from bishui.exchange.checks import raise_refusals

        raise_refusals([Refusal("not_operator", f"actor {actor!r}")])


def holding_account(store: Store, entity: str) -> str:
    """The id of *entity*'s open holding account (the first by id)."""
    rows = store.query(
        "SELECT id FROM exchange_account WHERE holder = ? AND kind = 'holding' "
        "AND state = 'open' ORDER BY id LIMIT 1",
        [entity],
    )
    if not rows:
        raise NotFoundError(f"no open holding account of {entity!r}")
    return str(rows[0]["id"])


def series_region(party: Party, pollutant: str) -> str:
    """The region code a right's series carries: the basin for a water pollutant (water rights
    trade within the basin), the county (GB/T 2260) for an air pollutant (notes §A2)."""
    if right_pollutant(pollutant).medium == "water":
        if not party.basin:
            raise InputError("basin", "a water right's holder discharges to a basin", "")
        return party.basin
    return party.region


# -- verified history -----------------------------------------------------------------------
def verified_kg(store: Store, year: int) -> dict[tuple[str, str], int]:
    """Verified annual emissions per (permit number, pollutant) for *year* [kg], from the
    sources' daily masses (``bishui.sources.service.cap_usage`` as of 31 December — the sums
    the CAP rule judges), rounded down to whole kg."""
    out: dict[tuple[str, str], int] = {}
    for r in sources_service.cap_usage(store, dt.date(year, 12, 31)):
        if r["days_with_data"] == 0:
            continue
        out[(r["permit_no"], r["pollutant"])] = math.floor(Decimal(r["total_t"]) * 1000)
    return out


# -- determination --------------------------------------------------------------------------
@dataclass(frozen=True)
class Determined:
    """One recorded determination (a row of ``exchange_determination``)."""

    id: str
    holder: str
    permit_no: str
    pollutant: str
    vintage: int
    region: str
    permitted: int
    historical: int
    determined: int
    scaled: bool
    valid_until: dt.date
    log_tx: str | None


def determine_rights(
    store: Store,
    *,
    pollutant: str,
    vintage: int,
    cap_kg: int,
    method: det.DeterminationMethod,
    on: dt.date,
    actor: str,
    usccs: Sequence[str] | None = None,
    verified: Mapping[str, Sequence[int]] | None = None,
    amend_permits: bool = True,
) -> list[Determined]:
    """Determine and issue one pollutant's emission rights for *vintage* in one area.

    The units are the permits in force on *on* that give *pollutant* an annual quantity (and,
    when *usccs* is given, belong to those enterprises), each holder with a trading profile
    (:func:`set_party`) and an open holding account. Each unit's history is *verified*
    [kg/a, oldest first, by permit number] or else the sources' verified emissions of the
    ``method.history_years`` years before *vintage* (:func:`verified_kg`).
    :func:`bishui.exchange.market.determination.determine` gives each quantity (≤ permitted,
    Σ ≤ *cap_kg*); each is issued into the holder's account (source ``determination``, vintage
    *vintage*, valid five years from *on*) and recorded, all in one store transaction. Then,
    with *amend_permits*, each permit gets a new version whose annual quantity is the
    determined one (the right is confirmed in the permit, 国办发〔2014〕38号) — in the same
    store transaction, so a permit that cannot be amended leaves no units issued either.
    """
    right_pollutant(pollutant)
    permits = [
        p
        for p in permit_store.load_permits(store)
        if p.is_in_force(on) and pollutant in p.annual_caps
        and (usccs is None or p.uscc in set(usccs))
    ]  # fmt: skip
    if not permits:
        raise InputError(
            "pollutant", "a pollutant some permit in force gives a quantity", pollutant
        )
    hist: dict[str, list[int]] = {}
    if verified is not None:
        hist = {k: list(v) for k, v in verified.items()}
    else:
        years = range(vintage - method.history_years, vintage)
        per_year = [verified_kg(store, y) for y in years]
        for p in permits:
            hist[p.permit_no] = [y.get((p.permit_no, pollutant), 0) for y in per_year]
    units = [
        det.UnitRecord(
            p.permit_no,
            int(p.annual_caps[pollutant] * 1000),
            tuple(hist.get(p.permit_no, ())),
        )
        for p in permits
    ]
    results = det.determine(units, cap_kg, method)
    by_no = {p.permit_no: p for p in permits}
    until = det.valid_until(on)
    out: list[Determined] = []
    with store.transaction() as tx:
        ids = [f"{by_no[d.unit_id].permit_no}-{pollutant}-{vintage}" for d in results]
        marks = ", ".join("?" for _ in ids)
        sql = f"SELECT id FROM exchange_determination WHERE id IN ({marks})"  # noqa: S608
        if ids and tx.fetch_one(sql, ids):
            raise InputError(
                "vintage", "one determination per permit, pollutant and vintage", vintage
            )
        for d in results:
            p = by_no[d.unit_id]
            party = get_party(store, p.uscc)
            region = series_region(party, pollutant)
            did = f"{p.permit_no}-{pollutant}-{vintage}"
            log_tx = None
            if d.determined > 0:
                t = service.submit_in(
                    tx, store.dialect,
                    Issue(holding_account(store, p.uscc),
                          Series(Instrument.EMISSION_RIGHT, pollutant, vintage, region),
                          d.determined, "determination", until),
                    actor=actor, reason=f"排污权初始核定 {did}（国办发〔2014〕38号）", time=_at(on),
                )  # fmt: skip
                log_tx = t.id
            tx.execute(
                "INSERT INTO exchange_determination (id, holder, permit_no, pollutant, vintage, "
                "region, permitted, historical, determined, scaled, cap, method, determined_on, "
                "valid_until, log_tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [did, p.uscc, p.permit_no, pollutant, vintage, region, d.permitted, d.historical,
                 d.determined, d.scaled, cap_kg,
                 json.dumps({"history_years": method.history_years, "factor": str(method.factor),
                             "basis": method.basis}, ensure_ascii=False),
                 on, until, log_tx],
            )  # fmt: skip
            out.append(
                Determined(did, p.uscc, p.permit_no, pollutant, vintage, region, d.permitted,
                           d.historical, d.determined, d.scaled, until, log_tx)
            )  # fmt: skip
        if amend_permits:  # the same transaction: rights and permits commit together
            confirmed = {
                d2.permit_no: ({pollutant: d2.determined}, _CONFIRMED_AS.format(d2.id))
                for d2 in out
            }
            set_permitted_many_in(tx, confirmed, on + dt.timedelta(days=1), actor)
    return out


_CONFIRMED = "（国办发〔2014〕38号：以排污许可证形式确认）"
_CONFIRMED_AS = "排污权初始核定确认 {}" + _CONFIRMED


def determinations(
    store: Store, holder: str | None = None, vintage: int | None = None
) -> list[dict[str, Any]]:
    """Recorded determinations (optionally of one holder and/or vintage), JSON-ready."""
    sql, args = "SELECT * FROM exchange_determination WHERE TRUE", list[Any]()
    if holder is not None:
        sql += " AND holder = ?"
        args.append(holder)
    if vintage is not None:
        sql += " AND vintage = ?"
        args.append(vintage)
    return store.query(sql + " ORDER BY holder, pollutant, vintage", args)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(9, 0))


# -- permits ---------------------------------------------------------------------------------
def set_permitted(
    store: Store,
    permit_no: str,
    quantities_kg: Mapping[str, int],
    effective: dt.date,
    reason: str,
    actor: str,
) -> Permit:
    """Issue a new version of *permit_no* from *effective* whose annual quantities of the
    given pollutants are *quantities_kg* (others unchanged), through the sources engine
    (``permits.amend`` and the permit store's ``record_permits``). Returns the new version.
    A version already starting on *effective* is revised in place (same version number)."""
    return set_permitted_many(store, {permit_no: (quantities_kg, reason)}, effective, actor)[0]


def set_permitted_many(
    store: Store,
    changes: Mapping[str, tuple[Mapping[str, int], str]],
    effective: dt.date,
    actor: str,
) -> list[Permit]:
    """:func:`set_permitted` for several permits (permit number → quantities [kg], reason) in
    one write of the permit store; returns the new versions in the order given."""
    if not changes:
        return []
    with store.transaction() as tx:
        return set_permitted_many_in(tx, changes, effective, actor)


def set_permitted_many_in(
    tx: StoreTx,
    changes: Mapping[str, tuple[Mapping[str, int], str]],
    effective: dt.date,
    actor: str,
) -> list[Permit]:
    """:func:`set_permitted_many` inside the caller's transaction *tx* (the permit store's
    ``record_permits_in``): the permit versions commit or roll back with the caller's writes.
    Only the histories of the permits named are read."""
    if not changes:
        return []
    nos = list(changes)
    marks = ", ".join("?" for _ in nos)
    loaded = permit_store.load_permits_in(tx, f"p.permit_no IN ({marks})", nos)
    out: list[Permit] = []
    write: list[Permit] = []
    for no in nos:
        quantities_kg, reason = changes[no]
        history = [p for p in loaded if p.permit_no == no]
        if not history:
            raise NotFoundError(f"no permit {no!r}")
        current = next((p for p in history if p.is_in_force(effective)), None)
        if current is None:
            raise InputError("effective", f"a day some version of {no} is in force", effective)
        caps = dict(current.annual_caps)
        for pol, kg in quantities_kg.items():
            caps[pol] = from_units(Instrument.EMISSION_RIGHT, kg)
        if current.valid_from == effective:
            new = dataclasses.replace(current, annual_caps=caps, change_reason=reason)
            write.append(new)
        else:
            versions = amend(history, no, effective, reason, annual_caps=caps)
            write += [v for v in versions if v not in history or v.version == current.version]
            new = versions[-1]
        out.append(new)
    permit_store.record_permits_in(tx, write, by=actor)
    return out


_HOLDINGS = (
    "SELECT b.pollutant, SUM(b.end_serial - b.start_serial + 1) AS n FROM exchange_block b "
    "JOIN exchange_account a ON a.id = b.account WHERE a.holder = ? AND a.kind = 'holding' "
    "AND b.status = 'held' AND b.instrument = 'emission_right' "
    "AND (b.valid_until IS NULL OR b.valid_until >= ?) GROUP BY b.pollutant"
)


def right_holdings(store: Store, holder: str, on: dt.date) -> dict[str, int]:
    """Emission rights *holder*'s holding accounts hold in circulation and valid on *on*, by
    pollutant [kg] (every vintage)."""
    rows = store.query(_HOLDINGS, [holder, on])
    return {str(r["pollutant"]): int(r["n"]) for r in rows}


def right_holdings_in(tx: StoreTx, holder: str, on: dt.date) -> dict[str, int]:
    """:func:`right_holdings` inside the caller's transaction (it sees its own writes)."""
    return {str(r[0]): int(r[1]) for r in tx.fetch(_HOLDINGS, [holder, on])}


def permit_check(store: Store, holder: str, on: dt.date) -> list[Refusal]:
    """The registry's permit-consistency check of *holder*'s permit in force on *on* against
    its holdings, for the pollutants it holds rights in or the permit lists of the four."""
    return _permit_check(right_holdings(store, holder, on),
                         permit_store.load_permits(store, "p.uscc = ?", [holder]), on)  # fmt: skip


def permit_check_in(tx: StoreTx, holder: str, on: dt.date) -> list[Refusal]:
    """:func:`permit_check` inside the caller's transaction."""
    return _permit_check(right_holdings_in(tx, holder, on),
                         permit_store.load_permits_in(tx, "p.uscc = ?", [holder]), on)  # fmt: skip


def _permit_check(held: Mapping[str, int], permits: Sequence[Permit], on: dt.date) -> list[Refusal]:
    out: list[Refusal] = []
    for p in permits:
        if p.is_in_force(on):
            caps = {k: v for k, v in p.annual_caps.items() if k in held}
            out += permit_consistency(held, dataclasses.replace(p, annual_caps=caps))
    return out


# -- fees ---------------------------------------------------------------------------------
def ensure_government_accounts(store: Store, government: str) -> None:
    """Open the bank, fee-income and reserve-fund cash accounts (idempotent)."""
    ledger.ensure_bank(store)
    ledger.open_cash_account(store, FEE_INCOME, CashKind.FEE_INCOME, government, "排污权出让收入")
    ledger.open_cash_account(store, RESERVE_FUND, CashKind.RESERVE_FUND, government, "政府储备资金")


def assess_fee(
    store: Store,
    holder: str,
    *,
    vintage: int,
    schedule_id: str,
    years: int,
    on: dt.date,
    instalments: int,
    every_months: int,
    actor: str,
) -> dict[str, Any]:
    """Assess the 定额出让 fee of *holder*'s determined rights of *vintage*
    (``market.fees.fixed_allocation`` with schedule *schedule_id*) and split it into
    *instalments* due every *every_months* months from *on*. Operators only. Returns the
    fee with its lines and instalments."""
    require_operator(store, actor)
    rights: dict[str, int] = {}
    for r in determinations(store, holder, vintage):
        rights[r["pollutant"]] = rights.get(r["pollutant"], 0) + int(r["determined"])
    if not rights:
        raise NotFoundError(f"no determination of {holder!r} for {vintage}")
    a = mfees.fixed_allocation(rights, years, mfees.load_schedule(schedule_id))
    parts = mfees.instalments(a.total_fen, instalments, on, every_months)
    fid = f"FEE-{holder}-{vintage}"
    lines = [dataclasses.asdict(x) for x in a.lines]
    with store.transaction() as tx:
        if tx.fetch_one("SELECT id FROM exchange_fee WHERE id = ?", [fid]):
            raise InputError("fee", "one assessment per holder and vintage", fid)
        tx.execute(
            "INSERT INTO exchange_fee (id, holder, schedule_id, years, lines, total_fen, "
            "assessed_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [fid, holder, a.schedule_id, years, json.dumps(lines), a.total_fen, on],
        )
        for p in parts:
            tx.execute(
                "INSERT INTO exchange_instalment (fee_id, number, due, amount_fen) "
                "VALUES (?, ?, ?, ?)",
                [fid, p.number, p.due, p.amount_fen],
            )
        why = f"定额出让 {holder} {vintage}"
        records.snapshot_in(tx, store.dialect, "exchange_fee", [fid], actor=actor, reason=why)
        for p in parts:
            records.snapshot_in(
                tx, store.dialect, "exchange_instalment", [fid, p.number], actor=actor, reason=why
            )
    return fee(store, fid)


def fee(store: Store, fee_id: str) -> dict[str, Any]:
    """One fee assessment with its lines and instalments (paid or not)."""
    rows = store.query("SELECT * FROM exchange_fee WHERE id = ?", [fee_id])
    if not rows:
        raise NotFoundError(f"no fee {fee_id!r}")
    f = dict(rows[0])
    f["lines"] = json.loads(f["lines"])
    f["instalments"] = store.query(
        "SELECT number, due, amount_fen, paid_tx, paid_at FROM exchange_instalment "
        "WHERE fee_id = ? ORDER BY number",
        [fee_id],
    )
    return f


def fees_of(store: Store, holder: str | None = None) -> list[dict[str, Any]]:
    """Every fee assessment (of one holder), with instalments."""
    sql, args = (
        "SELECT f.*, i.number AS i_number, i.due AS i_due, i.amount_fen AS i_amount_fen, "
        "i.paid_tx AS i_paid_tx, i.paid_at AS i_paid_at FROM exchange_fee f "
        "LEFT JOIN exchange_instalment i ON i.fee_id = f.id",
        list[Any](),
    )
    if holder is not None:
        sql += " WHERE f.holder = ?"
        args.append(holder)
    out: dict[str, dict[str, Any]] = {}
    for r in store.query(sql + " ORDER BY f.id, i.number", args):  # one query, not one per fee
        f = out.get(r["id"])
        if f is None:
            f = {k: v for k, v in r.items() if not k.startswith("i_")}
            f["lines"] = json.loads(f["lines"])
            f["instalments"] = []
            out[r["id"]] = f
        if r["i_number"] is not None:
            f["instalments"].append({k[2:]: v for k, v in r.items() if k.startswith("i_")})
    return list(out.values())


def pay_instalment(
    store: Store, fee_id: str, number: int, *, actor: str, time: dt.datetime | None = None
) -> dict[str, Any]:
    """Pay instalment *number* of *fee_id* from the holder's cash account to the government's
    fee income, in one store transaction with the instalment marked paid. The actor is a
    representative of one of the holder's accounts or an operator."""
    f = fee(store, fee_id)
    _may_act_for(store, f["holder"], actor)
    with store.transaction() as tx:
        row = tx.fetch_one(
            "SELECT amount_fen, paid_tx FROM exchange_instalment WHERE fee_id = ? AND number = ?",
            [fee_id, number],
        )
        if row is None:
            raise NotFoundError(f"no instalment {number} of {fee_id}")
        if row[1] is not None:
            raise InputError("number", "an instalment not yet paid", number)
        amount = int(row[0])
        m = ledger.post_in(
            tx, store.dialect,
            [Posting(ledger.cash_account_of(f["holder"]), -amount), Posting(FEE_INCOME, amount)],
            kind="fee_payment", actor=actor, ref=f"{fee_id}#{number}",
            reason=f"排污权有偿使用费 第{number}期（财税〔2015〕61号）", time=time,
        )  # fmt: skip
        tx.execute(
            "UPDATE exchange_instalment SET paid_tx = ?, paid_at = ? WHERE fee_id = ? "
            "AND number = ?",
            [m.id, m.time, fee_id, number],
        )
        records.snapshot_in(
            tx, store.dialect, "exchange_instalment", [fee_id, number], actor=actor,
            reason=f"paid by {m.id}",
        )  # fmt: skip
    return fee(store, fee_id)


def _may_act_for(store: Store, entity: str, actor: str) -> None:
    reps = store.query(
        "SELECT r.username FROM exchange_representative r JOIN exchange_account a "
        "ON a.id = r.account WHERE a.holder = ? AND r.username = ?",
        [entity, actor],
    )
    if reps:
        return
    require_operator(store, actor)


# -- expiry --------------------------------------------------------------------------------
def expire(store: Store, on: dt.date, *, actor: str) -> int:
    """Mark every held unit whose validity ended before *on* as expired (one log row when
    there are any); returns how many units expired."""
    n = store.query(
        "SELECT COALESCE(SUM(end_serial - start_serial + 1), 0) AS n FROM exchange_block "
        "WHERE status = 'held' AND valid_until < ?",
        [on],
    )[0]["n"]
    if not int(n):
        return 0
    service.submit(store, Expire(on), actor=actor, reason="有效期届满（财税〔2015〕61号：五年）")
    return int(n)


def refresh(store: Store, now: dt.datetime) -> None:
    """The periodic task (``app.REFRESH``): expire what lapsed before today, acting as the
    first registry operator (nothing to do while the registry has none)."""
    ops = store.query("SELECT username FROM exchange_operator ORDER BY username LIMIT 1")
    if ops:
        expire(store, now.date(), actor=str(ops[0]["username"]))


# -- reductions (减排登记) and the reserve (政府储备) -----------------------------------------
def register_reduction(
    store: Store,
    holder: str,
    pollutant: str,
    year: int,
    *,
    actor: str,
    verified_year: Mapping[tuple[str, str], int] | None = None,
) -> dict[str, Any]:
    """Register *holder*'s reduction of *pollutant* in *year* (减排登记): the emission rights it
    held on 31 December less its verified emissions that year from the platform's own
    monitoring (:func:`verified_kg`), when positive, are recorded as registered reduction
    units — the surplus it may sell or bank (notes §A2). Operators only; once per holder,
    pollutant and year. ``InputError`` when there is no surplus or no verified year.
    *verified_year* is :func:`verified_kg` of *year* when the caller has it already."""
    require_operator(store, actor)
    right_pollutant(pollutant)
    end = dt.date(year, 12, 31)
    held = right_holdings(store, holder, end).get(pollutant, 0)
    permits = [p for p in permit_store.load_permits(store, "p.uscc = ?", [holder])
               if p.is_in_force(end)]  # fmt: skip
    ver = verified_year if verified_year is not None else verified_kg(store, year)
    have = [ver[(p.permit_no, pollutant)] for p in permits if (p.permit_no, pollutant) in ver]
    if not have:
        raise InputError("year", "a year with verified emissions of the holder", year)
    verified = sum(have)
    surplus = held - verified
    if surplus <= 0:
        raise InputError("holder", "verified emissions below the rights held", holder)
    rid = f"RED-{holder}-{pollutant}-{year}"
    with store.transaction() as tx:
        if tx.fetch_one("SELECT id FROM exchange_reduction WHERE id = ?", [rid]):
            raise InputError("year", "one registration per holder, pollutant and year", year)
        tx.execute(
            "INSERT INTO exchange_reduction (id, holder, pollutant, year, verified, held, "
            "registered, registered_by, ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [rid, holder, pollutant, year, verified, held, surplus, actor, service.now()],
        )
    return reductions(store, holder)[-1]


def reductions(store: Store, holder: str | None = None) -> list[dict[str, Any]]:
    """Registered reductions (of one holder), oldest first."""
    sql, args = "SELECT * FROM exchange_reduction", list[Any]()
    if holder is not None:
        sql += " WHERE holder = ?"
        args.append(holder)
    return store.query(sql + " ORDER BY year, holder, pollutant", args)
