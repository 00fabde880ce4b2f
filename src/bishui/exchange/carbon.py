"""Carbon allowances mirrored from the Hubei pilot, forestry carbon-sink projects and confirmed
energy savings, on the store.

* **Carbon positions** — firms trade on the Hubei pilot and the national ETS, not on a city
  market (notes §A1): the city mirrors each covered firm's year — the allocation (issued into
  its holding account as ``carbon_allowance`` units of the year, region ``420000``, the pilot's
  province), the verified emissions reported, the surrender — and the rule set its compliance
  is judged by (``market.compliance``).
* **Forestry carbon-sink projects** (林业碳汇, e.g. the 漳河 area) — a project registry; each
  verified issuance becomes ``carbon_sink`` units of the owner (1 tCO2e), surrendered as offsets
  within the rule set's limit (``compliance.offset_limit``).
* **Energy savings** (节能量) — measured by ``market.energy.energy_saving`` (baseline adjusted
  to the reporting period's output, GB/T 28750 / GB/T 13234), confirmed with both third-party
  audit references (``market.energy.confirm``, notes §A3), issued in kgce and tradeable
  (``trading``).

Every issuance is an operator's registry transaction; what confirmed it (verification, audits)
is recorded in ``exchange_issuance_record`` beside the log row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bishui.errors import InputError, NotFoundError
from bishui.exchange import rights, service
from bishui.exchange.instruments import Instrument
from bishui.exchange.market import compliance as mc
from bishui.exchange.market import energy as me
from bishui.exchange.registry import Issue, Select, Series, Surrender
from bishui.store import Store

#: The region code carbon units carry: the Hubei pilot's province (GB/T 2260).
HUBEI_PILOT = "420000"


def _record(
    store: Store, rid: str, kind: str, ref: str, holder: str, units: int, vintage: int,
    body: dict[str, Any], log_tx: str,
) -> None:  # fmt: skip
    store.execute(
        "INSERT INTO exchange_issuance_record (id, kind, ref, holder, units, vintage, body, "
        "log_tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [rid, kind, ref, holder, units, vintage, json.dumps(body, ensure_ascii=False), log_tx],
    )


def mirror_position(
    store: Store,
    entity: str,
    year: int,
    *,
    allocation: int,
    rules_id: str,
    source: str,
    actor: str,
) -> dict[str, Any]:
    """Mirror *entity*'s carbon position for *year*: its initial allocation [tCO2e] issued into
    its holding account, the rule set (``market.compliance.rule_sets()``) and where the figure
    comes from (*source*: the pilot's allocation notice). Operators only; once per year."""
    rights.require_operator(store, actor)
    if rules_id not in mc.rule_sets():
        raise InputError("rules_id", "one of " + ", ".join(mc.rule_sets()), rules_id)
    if store.query(
        "SELECT 1 AS x FROM exchange_carbon_position WHERE entity = ? AND year = ?", [entity, year]
    ):
        raise InputError("year", "one position per entity and year", year)
    t = service.submit(
        store,
        Issue(rights.holding_account(store, entity),
              Series(Instrument.CARBON_ALLOWANCE, "", year, HUBEI_PILOT), allocation,
              "determination"),
        actor=actor, reason=f"湖北碳市场配额镜像 {year}：{source}",
    )  # fmt: skip
    store.execute(
        "INSERT INTO exchange_carbon_position (entity, year, allocation, verified, rules, source, "
        "updated_by) VALUES (?, ?, ?, NULL, ?, ?, ?)",
        [entity, year, allocation, rules_id, source, actor],
    )
    _record(store, f"CA-{entity}-{year}", "carbon_allocation", source, entity, allocation, year,
            {"rules": rules_id}, t.id)  # fmt: skip
    return position(store, entity, year)


def report_verified(store: Store, entity: str, year: int, verified: int, *, actor: str) -> None:
    """Enter *entity*'s verified emissions for *year* [tCO2e] (from the verifier's report).
    Operators only."""
    rights.require_operator(store, actor)
    if isinstance(verified, bool) or not isinstance(verified, int) or verified < 0:
        raise InputError("verified", "a whole number of tCO2e >= 0", verified)
    position(store, entity, year)
    store.execute(
        "UPDATE exchange_carbon_position SET verified = ?, updated_by = ? WHERE entity = ? "
        "AND year = ?",
        [verified, actor, entity, year],
    )


def position(store: Store, entity: str, year: int) -> dict[str, Any]:
    """One mirrored position with what was surrendered for the year (allowances, offsets)."""
    rows = store.query(
        "SELECT * FROM exchange_carbon_position WHERE entity = ? AND year = ?", [entity, year]
    )
    if not rows:
        raise NotFoundError(f"no carbon position of {entity!r} for {year}")
    out = dict(rows[0])
    s = surrendered(store, year).get(entity, {})
    out["surrendered_allowances"] = s.get(Instrument.CARBON_ALLOWANCE.value, 0)
    out["surrendered_offsets"] = s.get(Instrument.CARBON_SINK.value, 0)
    return out


def positions(store: Store, year: int) -> list[dict[str, Any]]:
    """Every mirrored position of *year*."""
    rows = store.query(
        "SELECT entity FROM exchange_carbon_position WHERE year = ? ORDER BY entity", [year]
    )
    return [position(store, r["entity"], year) for r in rows]


def surrendered(store: Store, year: int) -> dict[str, dict[str, int]]:
    """Units surrendered for compliance year *year*, per holder and instrument (from the log:
    each surrender records its compliance year)."""
    from bishui.exchange import log as xlog

    holder = {
        str(r["id"]): str(r["holder"])
        for r in store.query("SELECT id, holder FROM exchange_account")
    }
    out: dict[str, dict[str, int]] = {}
    for row in service.log_rows(store):
        if row.kind != "surrender":
            continue
        t = xlog.from_row(row)
        if int(t.data["compliance_year"]) != year or t.source is None:
            continue
        d = out.setdefault(holder.get(t.source, t.source), {})
        for r in t.moves:
            k = r.series.instrument.value
            d[k] = d.get(k, 0) + r.size
    return out


def surrender(
    store: Store, account: str, year: int, instrument_: str, units: int, *, actor: str
) -> dict[str, Any]:
    """Surrender *units* of *instrument_* (``carbon_allowance``, or ``carbon_sink`` offsets)
    from *account* for compliance year *year*; *actor* represents the account."""
    inst = Instrument(instrument_)
    if inst not in (Instrument.CARBON_ALLOWANCE, Instrument.CARBON_SINK):
        raise InputError("instrument", "carbon_allowance or carbon_sink", instrument_)
    t = service.submit(
        store, Surrender(account, year, Select(instrument=inst, quantity=units)), actor=actor,
        reason=f"{year}年度履约清缴",
    )  # fmt: skip
    return {"tx": t.id, "units": t.quantity, "instrument": inst.value, "year": year}


# -- forestry carbon-sink projects -------------------------------------------------------------
def register_sink_project(
    store: Store, project_id: str, *, name: str, owner: str, area: str, methodology: str,
    actor: str,
) -> dict[str, Any]:  # fmt: skip
    """Register a forestry carbon-sink project (林业碳汇项目) of *owner* (an entity with a holding
    account), in *area*, under *methodology*. Operators only."""
    rights.require_operator(store, actor)
    rights.holding_account(store, owner)
    for f, v in (("project_id", project_id), ("name", name), ("methodology", methodology)):
        if not v.strip() or len(v) > 200:
            raise InputError(f, "1–200 characters", v)
    store.execute(
        "INSERT INTO exchange_sink_project (id, name, owner, area, methodology, registered_by) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [project_id, name, owner, area, methodology, actor],
    )
    return sink_project(store, project_id)


def sink_project(store: Store, project_id: str) -> dict[str, Any]:
    """A project with its issuances."""
    rows = store.query("SELECT * FROM exchange_sink_project WHERE id = ?", [project_id])
    if not rows:
        raise NotFoundError(f"no carbon-sink project {project_id!r}")
    out = dict(rows[0])
    out["issuances"] = store.query(
        "SELECT id, units, vintage, body, log_tx FROM exchange_issuance_record "
        "WHERE kind = 'carbon_sink' AND ref = ? ORDER BY vintage",
        [project_id],
    )
    return out


def sink_projects(store: Store) -> list[dict[str, Any]]:
    """Every registered project with its issuances."""
    return [sink_project(store, r["id"]) for r in
            store.query("SELECT id FROM exchange_sink_project ORDER BY id")]  # fmt: skip


def issue_sink_credits(
    store: Store, project_id: str, *, vintage: int, units: int, verification: str, actor: str
) -> dict[str, Any]:
    """Issue *units* verified credits [tCO2e] of *vintage* to the project's owner; the
    *verification* reference (the third party's report) is recorded. Operators only."""
    rights.require_operator(store, actor)
    if not verification.strip():
        raise InputError("verification", "the verification report's reference", verification)
    p = sink_project(store, project_id)
    t = service.submit(
        store,
        Issue(rights.holding_account(store, p["owner"]),
              Series(Instrument.CARBON_SINK, "", vintage, HUBEI_PILOT), units, "carbon_sink"),
        actor=actor, reason=f"林业碳汇核证签发 {project_id} {vintage}",
    )  # fmt: skip
    _record(store, f"CS-{project_id}-{vintage}", "carbon_sink", project_id, p["owner"], units,
            vintage, {"verification": verification}, t.id)  # fmt: skip
    return sink_project(store, project_id)


# -- energy savings -----------------------------------------------------------------------------
def confirm_energy_saving(
    store: Store,
    holder: str,
    *,
    products: Sequence[me.ProductPeriods],
    year: int,
    baseline_audit: str,
    audit_report: str,
    auditor: str,
    actor: str,
) -> dict[str, Any]:
    """Measure (``market.energy.energy_saving``), confirm (``market.energy.confirm``: both audit
    references) and issue *holder*'s energy saving of *year* in kgce into its holding account
    (region: its county). Operators (the city's confirmation, 确权) only."""
    rights.require_operator(store, actor)
    c = me.confirm(me.energy_saving(products), baseline_audit, audit_report, auditor)
    party = rights.get_party(store, holder)
    t = service.submit(
        store,
        Issue(rights.holding_account(store, holder),
              Series(Instrument.ENERGY_SAVING, "", year, party.region), c.units, "energy_saving"),
        actor=actor, reason=f"节能量审核确认 {holder} {year}：{c.audit_report}",
    )  # fmt: skip
    rid = f"ES-{holder}-{year}-{t.id[:8]}"
    _record(store, rid, "energy_saving", c.audit_report, holder, c.units, year,
            {"baseline_audit": c.baseline_audit, "audit_report": c.audit_report,
             "auditor": c.auditor}, t.id)  # fmt: skip
    return {"id": rid, "holder": holder, "units": c.units, "year": year, "log_tx": t.id}


def energy_savings(store: Store) -> list[dict[str, Any]]:
    """Every confirmed energy saving."""
    return store.query(
        "SELECT id, holder, units, vintage, body, log_tx FROM exchange_issuance_record "
        "WHERE kind = 'energy_saving' ORDER BY vintage, id"
    )
