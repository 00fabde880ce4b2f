"""Closing a compliance year and the regulator's board.

* **Emission rights** — per holder, permit and pollutant: verified emissions from the platform's
  monitoring (``rights.verified_kg``: the sources' daily masses) against the rights held on
  31 December (every valid vintage). Status ``A`` when within the rights, ``B`` with a finding
  (``market.compliance.rights_finding``: actual above held, for the regulator — emission rights
  are not surrendered, 鄂政发〔2012〕64号, notes §A2), ``C`` when the year has no monitored
  data.
* **Carbon allowances** — per mirrored position: the verified emissions reported, the
  allowances and offsets surrendered for the year (offsets counted within the rule set's
  limit), status A/B/C/'-' and, for a shortfall, the penalty range and next year's deduction by
  the position's rule set (``market.compliance.reconcile`` / ``penalty``; the price the Hubei
  multiple applies to is the caller's ``average_price_fen``, else the range is not computed).

:func:`close_year` stores one row per entity, instrument, pollutant and year
(``exchange_compliance``; closing again replaces the year's rows); :func:`board` reads them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from bishui.exchange import carbon, rights
from bishui.exchange.instruments import RIGHT_POLLUTANTS, Instrument
from bishui.exchange.market import compliance as mc
from bishui.sources import permit_store
from bishui.store import Store


def close_year(
    store: Store,
    year: int,
    *,
    actor: str,
    average_price_fen: int | None = None,
    verified: Mapping[tuple[str, str], int] | None = None,
) -> list[dict[str, Any]]:
    """Judge every holder's *year* (module docstring) and store the board's rows. Operators
    (the regulator's decision recorded by the exchange) only. Returns :func:`board`.
    *verified* is ``rights.verified_kg(store, year)`` when the caller has it already."""
    rights.require_operator(store, actor)
    end = dt.date(year, 12, 31)
    rows: list[tuple[Any, ...]] = []
    if verified is None:
        verified = rights.verified_kg(store, year)
    holders = {
        r["holder"] for r in store.query("SELECT DISTINCT holder FROM exchange_determination")
    }
    for p in permit_store.load_permits(store):
        if p.uscc not in holders or not p.is_in_force(end):
            continue
        held = rights.right_holdings(store, p.uscc, end)
        for pol in sorted(set(held) & set(RIGHT_POLLUTANTS)):
            actual = verified.get((p.permit_no, pol))
            if actual is None:
                status, body = "C", {}
            else:
                f = mc.rights_finding(p.permit_no, pol, year, held[pol], actual)
                status = "A" if f is None else "B"
                body = dataclasses.asdict(f) if f is not None else {}
            shortfall = max(0, (actual or 0) - held[pol])
            js = json.dumps(body, ensure_ascii=False)
            rows.append((Instrument.EMISSION_RIGHT.value, p.uscc, year, pol, status, actual,
                         held[pol], shortfall, js, actor))  # fmt: skip
    for pos in carbon.positions(store, year):
        rules = mc.load_rules(pos["rules"], allow_unverified=True)
        v = pos["verified"]
        r = mc.reconcile(
            mc.Position(pos["entity"], year, True, None if v is None else int(v),
                        int(pos["surrendered_allowances"]), int(pos["surrendered_offsets"]),
                        int(pos["allocation"])),
            rules,
        )  # fmt: skip
        body = dataclasses.asdict(r)
        if r.shortfall and (rules.penalty.kind == "fixed_range" or average_price_fen is not None):
            body["penalty"] = dataclasses.asdict(mc.penalty(r.shortfall, rules, average_price_fen))
        covered = int(pos["surrendered_allowances"]) + r.offsets_counted
        js = json.dumps(body, ensure_ascii=False)
        rows.append((Instrument.CARBON_ALLOWANCE.value, pos["entity"], year, "", r.status, v,
                     covered, r.shortfall, js, actor))  # fmt: skip
    with store.transaction() as tx:
        tx.execute("DELETE FROM exchange_compliance WHERE year = ?", [year])
        for row in rows:
            tx.execute(
                "INSERT INTO exchange_compliance (instrument, entity, year, pollutant, status, "
                "due, covered, shortfall, body, closed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                list(row),
            )
    return board(store, year)


def board(store: Store, year: int, entities: list[str] | None = None) -> list[dict[str, Any]]:
    """The compliance board of *year* (optionally limited to *entities*, a caller's scope): one
    row per entity, instrument and pollutant with the entity's name, status (A/B/C/'-' with its
    Chinese word), what was due, covered and short, and the finding or penalty."""
    names = {r["id"]: r["name"] for r in store.query("SELECT id, name FROM exchange_entity")}
    out = []
    for r in store.query(
        "SELECT * FROM exchange_compliance WHERE year = ? ORDER BY instrument, entity, pollutant",
        [year],
    ):
        if entities is not None and r["entity"] not in entities:
            continue
        d = dict(r)
        d["body"] = json.loads(d["body"])
        d["name"] = names.get(d["entity"], d["entity"])
        d["status_zh"] = mc.STATUS[d["status"]][0]
        out.append(d)
    return out
