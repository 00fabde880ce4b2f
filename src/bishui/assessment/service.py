"""The assessment service: scoring runs, allocations, asset tables, terms and cases in the store.

Every write goes through ``store.transaction()`` and leaves a row in ``assessment_audit``
(who, role, when, what, subject, payload). Reads of the engines' figures go through their
public service functions (:mod:`bishui.assessment.sources`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bishui.assessment import allocation as al
from bishui.assessment import assets as am
from bishui.assessment import audit as au
from bishui.assessment import scorecard as sc
from bishui.assessment import sources
from bishui.enforcement import service as enf_service
from bishui.errors import ConflictError, InputError, NotFoundError
from bishui.store import Store, Transaction
from bishui.timeutil import now_beijing

FUND_KINDS = {"transfer": "财政转移支付", "compensation": "生态补偿资金"}


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or now_beijing()).replace(microsecond=0)


def _audit(
    tx: Transaction,
    at: dt.datetime,
    by: str,
    role: str,
    action: str,
    subject: str,
    payload: dict[str, Any],
) -> None:
    row = tx.fetch_one("SELECT MAX(seq) FROM assessment_audit")
    seq = int((row[0] if row else None) or 0) + 1  # one writer: the next number is ours
    tx.execute(
        "INSERT INTO assessment_audit (seq, acted_at, by_user, role, action, subject, payload) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [seq, at, by, role, action, subject, json.dumps(payload, ensure_ascii=False)],
    )


def audit_log(store: Store, subject: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    where, args = ("subject = ?", [subject]) if subject else ("TRUE", [])
    rows = store.query(
        "SELECT acted_at, by_user, role, action, subject, payload FROM assessment_audit "  # noqa: S608 - fixed fragments
        f"WHERE {where} ORDER BY seq LIMIT ?",
        [*args, limit],
    )
    return [{**r, "payload": json.loads(r["payload"])} for r in rows]


def counties(store: Store) -> dict[str, str]:
    """Code → name of the regions scored (every registered region but the city itself)."""
    return {r["code"]: r["name"] for r in store.rows("regions") if r["kind"] != "city"}


# --------------------------------------------------------------------------- scoring


def gather(store: Store, card: sc.Scorecard, codes: list[str]) -> dict[str, dict[str, sc.Evidence]]:
    """Evidence per county and indicator from the indicator sources."""
    with sources.batch():
        return {
            c: {ind.code: sources.get(ind.source)(store, c, card.year) for ind in card.indicators}
            for c in codes
        }


def score_year(
    store: Store,
    card: sc.Scorecard | str,
    *,
    by: str,
    role: str,
    regions: list[str] | None = None,
    now: dt.datetime | None = None,
) -> str:
    """Score every county for the scorecard's year and store the run; returns its id."""
    card = card if isinstance(card, sc.Scorecard) else sc.load_scorecard(card)
    names = counties(store)
    codes = sorted(regions or names)
    unknown = [c for c in codes if c not in names]
    if unknown:
        raise InputError("regions", "registered counties", unknown)
    evidence = gather(store, card, codes)
    return store_run(store, card, evidence, by=by, role=role, now=now)


def store_run(
    store: Store,
    card: sc.Scorecard,
    evidence: dict[str, dict[str, sc.Evidence]],
    *,
    by: str,
    role: str,
    now: dt.datetime | None = None,
) -> str:
    """Score *evidence* and store it as a new version of (scorecard, year)."""
    at = _now(now)
    pts = sc.score(card, evidence)
    total = sc.totals(pts)
    ranks = sc.ranking(total)
    partial = any(e.partial for ev in evidence.values() for e in ev.values())
    with store.transaction() as tx:
        row = tx.fetch_one(
            "SELECT MAX(version) FROM assessment_run WHERE scorecard_id = ? AND year = ?",
            [card.id, card.year],
        )
        version = int((row[0] if row else None) or 0) + 1
        run_id = f"{card.id}:{card.year}:v{version}"
        tx.execute(
            "INSERT INTO assessment_run (id, scorecard_id, year, version, scorecard_text, partial, "
            "computed_at, by_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, card.id, card.year, version, card.text, partial, at, by],
        )
        tx.execute_many(
            "INSERT INTO assessment_evidence (run_id, county, indicator, evidence, points, "
            "no_data, rank) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    run_id,
                    c,
                    code,
                    json.dumps(
                        evidence[c].get(code, sc.no_data("", "")).as_dict(), ensure_ascii=False
                    ),
                    str(p.points) if p.points is not None else None,
                    p.no_data,
                    p.rank,
                ]
                for c in sorted(pts)
                for code, p in pts[c].items()
            ],
        )
        tx.execute_many(
            "INSERT INTO assessment_total (run_id, county, points, rank) VALUES (?, ?, ?, ?)",
            [[run_id, c, str(total[c]), ranks.get(c, 0)] for c in sorted(total)],
        )
        _audit(
            tx,
            at,
            by,
            role,
            "score",
            f"run:{run_id}",
            {"scorecard": card.id, "year": card.year, "counties": sorted(pts)},
        )
    return run_id


def _run_row(store: Store, run_id: str) -> dict[str, Any]:
    rows = store.query("SELECT * FROM assessment_run WHERE id = ?", [run_id])
    if not rows:
        raise NotFoundError(f"scoring run {run_id} does not exist")
    return rows[0]


def runs(store: Store, year: int | None = None) -> list[dict[str, Any]]:
    where, args = ("year = ?", [year]) if year is not None else ("TRUE", [])
    return store.query(
        "SELECT id, scorecard_id, year, version, partial, computed_at, by_user "  # noqa: S608
        f"FROM assessment_run WHERE {where} ORDER BY year DESC, scorecard_id, version DESC",
        args,
    )


def latest_run(store: Store, year: int) -> str | None:
    rows = store.query(
        "SELECT id FROM assessment_run WHERE year = ? ORDER BY computed_at DESC, version DESC "
        "LIMIT 1",
        [year],
    )
    return str(rows[0]["id"]) if rows else None


def run_table(store: Store, run_id: str, regions: list[str] | None = None) -> dict[str, Any]:
    """A run for display: the scorecard, and per county its total, rank and every indicator's
    evidence and points (only *regions* when given — a county sees its own)."""
    run = _run_row(store, run_id)
    card = sc.parse_scorecard(run["scorecard_text"])
    names = {r["code"]: r["name"] for r in store.rows("regions")}
    ev = store.query(
        "SELECT county, indicator, evidence, points, no_data, rank FROM assessment_evidence "
        "WHERE run_id = ? ORDER BY county, indicator",
        [run_id],
    )
    tot = store.query(
        "SELECT county, points, rank FROM assessment_total WHERE run_id = ? ORDER BY rank, county",
        [run_id],
    )
    keep = set(regions) if regions is not None else None
    by_county: dict[str, dict[str, Any]] = {}
    for r in ev:
        if keep is not None and r["county"] not in keep:
            continue
        by_county.setdefault(r["county"], {})[r["indicator"]] = {
            "evidence": json.loads(r["evidence"]),
            "points": r["points"],
            "no_data": bool(r["no_data"]),
            "rank": r["rank"] or None,
        }
    return {
        "run": {
            k: run[k]
            for k in ("id", "scorecard_id", "year", "version", "partial", "computed_at", "by_user")
        },
        "scorecard": {
            "title": card.title,
            "basis": card.basis,
            "missing": card.missing,
            "indicators": [
                {
                    "code": i.code,
                    "name": i.name,
                    "name_en": i.name_en,
                    "source": i.source,
                    "weight": str(i.weight),
                    "curve": i.curve,
                    "unit": i.unit,
                }
                for i in card.indicators
            ],
        },
        "counties": [
            {
                "county": t["county"],
                "name": names.get(t["county"], t["county"]),
                "points": t["points"],
                "rank": t["rank"],
                "indicators": by_county.get(t["county"], {}),
            }
            for t in tot
            if keep is None or t["county"] in keep
        ],
    }


def run_sheet(tab: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """A run as one table: rank, county, total, and per indicator "points ← evidence value"."""
    inds = tab["scorecard"]["indicators"]
    headers = ["排名", "区县", "总分"] + [f"{i['name']}（{i['weight']}分）" for i in inds]
    rows = []
    for c in tab["counties"]:
        cells = []
        for i in inds:
            x = c["indicators"].get(i["code"], {})
            v = x.get("evidence", {}).get("value")
            cells.append(f"{x.get('points')} ← {'无数据' if v is None else v}")
        rows.append([c["rank"], c["name"], c["points"], *cells])
    return headers, rows


def recompute(store: Store, run_id: str) -> bool:
    """Recompute a run's points from its stored evidence and scorecard text; True when every
    stored point and total is reproduced."""
    run = _run_row(store, run_id)
    card = sc.parse_scorecard(run["scorecard_text"])
    ev = store.query(
        "SELECT county, indicator, evidence, points FROM assessment_evidence WHERE run_id = ?",
        [run_id],
    )
    evidence: dict[str, dict[str, sc.Evidence]] = {}
    stored: dict[tuple[str, str], str | None] = {}
    for r in ev:
        evidence.setdefault(r["county"], {})[r["indicator"]] = sc.Evidence.from_dict(
            json.loads(r["evidence"])
        )
        stored[(r["county"], r["indicator"])] = r["points"]
    pts = sc.score(card, evidence)
    again = {(c, k): str(p.points) for c, ps in pts.items() for k, p in ps.items()}
    totals = {
        r["county"]: r["points"]
        for r in store.query(
            "SELECT county, points FROM assessment_total WHERE run_id = ?", [run_id]
        )
    }
    return again == stored and {c: str(v) for c, v in sc.totals(pts).items()} == totals


def year_on_year(store: Store, year: int, regions: list[str] | None = None) -> list[dict[str, Any]]:
    """Each county's total and rank in the latest run of *year* and of the year before."""
    out: dict[str, dict[str, Any]] = {}
    for y, key in ((year, "this"), (year - 1, "last")):
        rid = latest_run(store, y)
        if rid is None:
            continue
        for r in store.query(
            "SELECT county, points, rank FROM assessment_total WHERE run_id = ?", [rid]
        ):
            out.setdefault(r["county"], {"county": r["county"]})[key] = {
                "run": rid,
                "points": r["points"],
                "rank": r["rank"],
            }
    rows = []
    for c in sorted(out):
        if regions is not None and c not in regions:
            continue
        r = out[c]
        if "this" in r and "last" in r:
            r["change"] = str(Decimal(r["this"]["points"]) - Decimal(r["last"]["points"]))
        rows.append(r)
    return rows


# --------------------------------------------------------------------------- allocation


def allocate(
    store: Store,
    run_id: str,
    *,
    fund: str,
    kind: str,
    rule: dict[str, Any],
    total_fen: int,
    by: str,
    role: str,
    now: dt.datetime | None = None,
) -> str:
    """Split a fund by the run's totals under a declared rule; stored and audited."""
    if kind not in FUND_KINDS:
        raise InputError("kind", f"one of {', '.join(FUND_KINDS)}", kind)
    if not fund.strip() or len(fund) > 100:
        raise InputError("fund", "1–100 characters", fund)
    _run_row(store, run_id)
    r = al.parse_rule(rule)
    scores = {
        t["county"]: Decimal(t["points"])
        for t in store.query(
            "SELECT county, points FROM assessment_total WHERE run_id = ?", [run_id]
        )
    }
    shares = al.allocate(total_fen, r, scores)
    at = _now(now)
    aid = uuid.uuid4().hex[:16]
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO assessment_allocation (id, run_id, fund, kind, rule, total_fen, created, "
            "by_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [aid, run_id, fund, kind, json.dumps(r.as_dict()), total_fen, at, by],
        )
        tx.execute_many(
            "INSERT INTO assessment_allocation_share (allocation_id, county, score, fen) "
            "VALUES (?, ?, ?, ?)",
            [[aid, c, str(scores[c]), shares[c]] for c in sorted(shares)],
        )
        _audit(
            tx,
            at,
            by,
            role,
            "allocate",
            f"allocation:{aid}",
            {
                "run": run_id,
                "fund": fund,
                "kind": kind,
                "rule": r.as_dict(),
                "total_fen": total_fen,
                "shares": shares,
            },
        )
    return aid


def allocation(
    store: Store, allocation_id: str, regions: list[str] | None = None
) -> dict[str, Any]:
    rows = store.query("SELECT * FROM assessment_allocation WHERE id = ?", [allocation_id])
    if not rows:
        raise NotFoundError(f"allocation {allocation_id} does not exist")
    a = rows[0]
    shares = store.query(
        "SELECT county, score, fen FROM assessment_allocation_share WHERE allocation_id = ? "
        "ORDER BY county",
        [allocation_id],
    )
    if regions is not None:
        shares = [s for s in shares if s["county"] in regions]
    return {**a, "rule": json.loads(a["rule"]), "shares": shares}


def allocations(store: Store, run_id: str | None = None) -> list[dict[str, Any]]:
    where, args = ("run_id = ?", [run_id]) if run_id else ("TRUE", [])
    return store.query(
        "SELECT id, run_id, fund, kind, total_fen, created, by_user FROM assessment_allocation "  # noqa: S608
        f"WHERE {where} ORDER BY created DESC, id",
        args,
    )


# --------------------------------------------------------------------------- asset tables


def load_assets(
    store: Store,
    data: bytes,
    *,
    filename: str,
    kind: str = "csv",
    by: str,
    role: str,
    now: dt.datetime | None = None,
) -> str:
    """Load a survey file whole or not at all; lines already on file for the same county, year,
    resource and category are replaced. The opening stocks must equal the previous year's
    closing stocks on file."""
    lines = am.parse_survey(data, kind)
    prev: dict[tuple[str, str, str], Decimal] = {}
    for key in {(ln.county, ln.year - 1) for ln in lines}:
        for r in store.query(
            "SELECT resource, category, closing FROM assessment_asset_line WHERE county = ? "
            "AND year = ?",
            list(key),
        ):
            prev[(key[0], r["resource"], r["category"])] = Decimal(r["closing"])
    errors = am.check_continuity(lines, prev)
    if errors:
        raise InputError(
            "rows",
            f"{len(errors)} opening stock(s) differ from the previous closing; nothing was loaded",
            [e.as_dict() for e in errors],
        )
    at = _now(now)
    bid = uuid.uuid4().hex[:16]
    sha = hashlib.sha256(data).hexdigest()
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO assessment_asset_batch (id, filename, sha256, lines, loaded_at, by_user) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [bid, filename[:200], sha, len(lines), at, by],
        )
        for ln in lines:
            tx.execute(
                "DELETE FROM assessment_asset_line WHERE county = ? AND year = ? AND resource = ? "
                "AND category = ?",
                list(ln.key),
            )
        tx.execute_many(
            "INSERT INTO assessment_asset_line (county, year, resource, category, unit, opening, "
            "increase, decrease, closing, batch_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [
                    ln.county,
                    ln.year,
                    ln.resource,
                    ln.category,
                    ln.unit,
                    str(ln.opening),
                    json.dumps(d["increase"]),
                    json.dumps(d["decrease"]),
                    str(ln.closing),
                    bid,
                ]
                for ln in lines
                for d in [ln.as_dict()]
            ],
        )
        _audit(
            tx,
            at,
            by,
            role,
            "load_assets",
            f"assets:{bid}",
            {"filename": filename[:200], "sha256": sha, "lines": len(lines)},
        )
    return bid


def asset_lines(store: Store, county: str, year: int) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT county, year, resource, category, unit, opening, increase, decrease, closing "
        "FROM assessment_asset_line WHERE county = ? AND year = ? ORDER BY resource, category",
        [county, year],
    )
    out = []
    for r in rows:
        inc, dec = json.loads(r["increase"]), json.loads(r["decrease"])
        bal = (
            Decimal(r["opening"])
            + sum(map(Decimal, inc.values()), Decimal(0))
            - sum(map(Decimal, dec.values()), Decimal(0))
        )
        out.append(
            {**r, "increase": inc, "decrease": dec, "balanced": bal == Decimal(r["closing"])}
        )
    return out


def quality_link(store: Store, county: str, year: int) -> dict[str, Any]:
    """The water-quality account beside the platform's monitoring: sections by class from the
    asset table's ``water_quality`` closing stocks and from bishui.water's annual assessment
    (GB 3838-2002 classes Ⅰ … 劣Ⅴ); air from bishui.air (good days, PM2.5) for reference."""
    table = {
        r["category"]: r["closing"]
        for r in asset_lines(store, county, year)
        if r["resource"] == "water_quality"
    }
    with sources.batch():
        w = sources.water_attainment(store, county, year)
        good = sources.air_good_days_ratio(store, county, year)
        pm = sources.air_pm25(store, county, year)
    labels = ["Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ", "Ⅴ", "劣Ⅴ"]
    by_class = w.inputs.get("by_class") or []
    monitored = dict(zip(labels, [str(n) for n in by_class], strict=False))
    agree = None
    if table and monitored:
        agree = all(Decimal(table.get(k, "0")) == Decimal(monitored.get(k, "0")) for k in labels)
    return {
        "water": {"table": table, "monitoring": monitored, "agree": agree},
        "air": {"good_days_ratio": good.as_dict(), "pm25": pm.as_dict()},
    }


# --------------------------------------------------------------------------- terms and cases


def add_term(
    store: Store, term: au.Term, *, by: str, role: str, now: dt.datetime | None = None
) -> str:
    if term.county not in counties(store) and not store.rows("regions", "code = ?", [term.county]):
        raise InputError("county", "a registered region", term.county)
    at = _now(now)
    tid = uuid.uuid4().hex[:12]
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO assessment_term (id, leader, post, county, start_date, end_date, created, "
            "by_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [tid, term.leader, term.post, term.county, term.start, term.end, at, by],
        )
        _audit(
            tx,
            at,
            by,
            role,
            "add_term",
            f"term:{tid}",
            {
                "leader": term.leader,
                "post": term.post,
                "county": term.county,
                "start": str(term.start),
                "end": str(term.end),
            },
        )
    return tid


def record_summary_report(
    store: Store,
    term_id: str,
    report_id: str,
    sha256: str,
    *,
    by: str,
    role: str,
    now: dt.datetime | None = None,
) -> None:
    """Audit the storing of a term's summary as a versioned report (``departure-audit``, kept
    by bishui.reports, which the web layer calls; this domain does not import the reports)."""
    get_term(store, term_id)
    at = _now(now)
    with store.transaction() as tx:
        _audit(
            tx, at, by, role, "store_summary", f"term:{term_id}",
            {"report": report_id, "sha256": sha256},
        )  # fmt: skip


def get_term(store: Store, term_id: str) -> au.Term:
    rows = store.query("SELECT * FROM assessment_term WHERE id = ?", [term_id])
    if not rows:
        raise NotFoundError(f"term {term_id} does not exist")
    r = rows[0]
    return au.Term(
        r["leader"], r["post"], r["county"], _date(r["start_date"]), _date(r["end_date"])
    )


def _date(v: Any) -> dt.date:
    return (
        v
        if isinstance(v, dt.date) and not isinstance(v, dt.datetime)
        else dt.date.fromisoformat(str(v)[:10])
    )


def terms(store: Store, regions: list[str] | None = None) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT id, leader, post, county, start_date, end_date FROM assessment_term "
        "ORDER BY start_date DESC, id"
    )
    return [r for r in rows if regions is None or r["county"] in regions]


def open_case(
    store: Store,
    *,
    leader: str,
    county: str,
    article: str,
    item: int,
    forms: list[str],
    facts: str,
    opened: dt.date,
    term_id: str | None = None,
    by: str,
    role: str,
    now: dt.datetime | None = None,
) -> str:
    """Register an accountability case with its basis (2015 measures, Arts. 5–8)."""
    au.check_basis(article, item)
    au.check_forms(forms)
    if not leader.strip() or len(leader) > 64:
        raise InputError("leader", "1–64 characters", leader)
    if not facts.strip() or len(facts) > 4000:
        raise InputError("facts", "1–4000 characters", len(facts))
    if not store.rows("regions", "code = ?", [county]):
        raise InputError("county", "a registered region", county)
    if term_id is not None:
        get_term(store, term_id)
    at = _now(now)
    cid = uuid.uuid4().hex[:12]
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO assessment_case (id, leader, county, term_id, article, item, forms, "
            "facts, state, opened, created, by_user) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                cid,
                leader,
                county,
                term_id,
                article,
                item,
                json.dumps(forms),
                facts,
                "open",
                opened,
                at,
                by,
            ],
        )
        _audit(
            tx,
            at,
            by,
            role,
            "open_case",
            f"case:{cid}",
            {
                "leader": leader,
                "county": county,
                "article": article,
                "item": item,
                "forms": forms,
                "term": term_id,
            },
        )
    return cid


def set_case_state(
    store: Store, case_id: str, state: str, *, by: str, role: str, now: dt.datetime | None = None
) -> None:
    if state not in au.CASE_STATES:
        raise InputError("state", f"one of {', '.join(au.CASE_STATES)}", state)
    rows = store.query("SELECT state FROM assessment_case WHERE id = ?", [case_id])
    if not rows:
        raise NotFoundError(f"case {case_id} does not exist")
    old = rows[0]["state"]
    if au.CASE_STATES.index(state) <= au.CASE_STATES.index(old):
        raise ConflictError(f"case {case_id} is {old}; it moves only forward")
    at = _now(now)
    with store.transaction() as tx:
        tx.execute("UPDATE assessment_case SET state = ? WHERE id = ?", [state, case_id])
        _audit(tx, at, by, role, "case_state", f"case:{case_id}", {"from": old, "to": state})


def cases(
    store: Store, regions: list[str] | None = None, leader: str | None = None
) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT id, leader, county, term_id, article, item, forms, facts, state, "
        "opened FROM assessment_case ORDER BY opened DESC, id"
    )
    out = []
    for r in rows:
        if (regions is not None and r["county"] not in regions) or (
            leader and r["leader"] != leader
        ):
            continue
        out.append({**r, "forms": json.loads(r["forms"])})
    return out


def departure_summary(store: Store, term_id: str) -> dict[str, Any]:
    """The departure-audit summary of a term (bishui.assessment.audit): targets met or missed
    in each year's latest run, asset stocks over the term, major incidents, enforcement record,
    and the accountability cases on the leader."""
    term = get_term(store, term_id)
    target_rows = []
    for y in term.years:
        rid = latest_run(store, y)
        if rid is None:
            continue
        card = sc.parse_scorecard(_run_row(store, rid)["scorecard_text"])
        weights = {i.code: i for i in card.indicators}
        for r in store.query(
            "SELECT indicator, points, no_data FROM assessment_evidence WHERE "
            "run_id = ? AND county = ? ORDER BY indicator",
            [rid, term.county],
        ):
            ind = weights.get(r["indicator"])
            met = (
                None
                if r["no_data"]
                else Fraction(Decimal(r["points"])) == (ind.weight if ind else -1)
            )
            target_rows.append(
                {
                    "year": y,
                    "run": rid,
                    "indicator": r["indicator"],
                    "name": ind.name if ind else r["indicator"],
                    "points": r["points"],
                    "met": met,
                }
            )
    first, last = term.years[0], term.years[-1]
    opening = {
        (r["resource"], r["category"]): Decimal(r["opening"])
        for r in asset_lines(store, term.county, first)
    }
    closing = {
        (r["resource"], r["category"]): Decimal(r["closing"])
        for r in asset_lines(store, term.county, last)
    }
    _, tasks = enf_service.list_tasks(store, "region = ?", [term.county], limit=100_000)
    lo, hi = term.start.isoformat(), (term.end + dt.timedelta(days=1)).isoformat()
    in_term = [t for t in tasks if lo <= str(t.get("created", "")) < hi]
    closed = [t for t in in_term if t.get("state") == "closed"]
    on_time = [
        t for t in closed if t.get("closed_at") and str(t["closed_at"]) <= str(t["deadline"])
    ]
    major = [
        {
            "id": t["id"],
            "title": t.get("title"),
            "created": t.get("created"),
            "state": t.get("state"),
        }
        for t in in_term
        if t.get("severity") == "high"
    ]
    return {
        "term": {
            "id": term_id,
            "leader": term.leader,
            "post": term.post,
            "county": term.county,
            "start": str(term.start),
            "end": str(term.end),
            "years": term.years,
        },
        "targets": au.targets_summary(target_rows),
        "assets": au.asset_change(opening, closing),
        "incidents": major,
        "enforcement": {
            "tasks": len(in_term),
            "closed": len(closed),
            "on_time": len(on_time),
            "open": len(in_term) - len(closed),
        },
        "cases": [c for c in cases(store, leader=term.leader) if c["county"] == term.county],
        "note": "汇总不评级：审计评分体系（100分制、五档）写给省级，"
        "其后各部分未见原文（notes §4.1）",
    }
