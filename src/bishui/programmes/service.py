"""The programmes service: damage cases, the project register and its funds, in the store.

Every write validates its input (:class:`~bishui.errors.InputError` naming field, rule and
value), runs the pure machine (:mod:`~bishui.programmes.damage`,
:mod:`~bishui.programmes.projects`, :mod:`~bishui.programmes.money`,
:mod:`~bishui.programmes.funds`) and stores the result with one audit event, all in one store
transaction. The audit log is hash-chained (:class:`bishui.enforcement.audit.AuditEvent`, through
the workflows' shared :class:`bishui.enforcement.audit_table.AuditTable`); :func:`verify_audit`
checks it end to end.

Evidence files (appraisal reports, agreements, rulings, payment vouchers, photos, acceptance
reports) are checked exactly as enforcement's (:func:`bishui.enforcement.evidence.check_upload`:
size, media type, file signature, name) and stored here, per case or project; a transition
cites files by id and its audit event carries each file's SHA-256.

Overdue milestones become 督办 tasks through enforcement's intake
(:func:`bishui.enforcement.service.raise_alerts`), one alert per milestone (subject kind
:data:`bishui.enforcement.tasks.PROJECT`); the task machinery is the engine's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from bishui.enforcement import evidence
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.enforcement.audit_table import AuditTable
from bishui.enforcement.intake import AlertIn
from bishui.errors import ConflictError, InputError, NotFoundError
from bishui.programmes import damage as dm
from bishui.programmes import funds as fd
from bishui.programmes import money
from bishui.programmes import projects as pj
from bishui.store import Store, Transaction
from bishui.timeutil import now_beijing

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
MAX_TEXT = 2000
MAX_LIST = 200
MAX_FILES = 200  # per case or project
USCC = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")

_FILE = ("id", "subject", "name", "media_type", "size", "sha256", "uploaded_by", "uploaded_at",
         "audit_seq")  # fmt: skip


# -- parsing ------------------------------------------------------------------------------------
def text(v: object, field: str, max_len: int = 200, required: bool = True) -> str:
    s = "" if v is None else str(v).strip()
    if required and not s:
        raise InputError(field, "required", v)
    if len(s) > max_len:
        raise InputError(field, f"at most {max_len} characters", len(s))
    return s


def ident(v: object, field: str) -> str:
    s = text(v, field, 40)
    if not ID.match(s):
        raise InputError(field, "letters, digits, - and _ (at most 40)", s)
    return s


def date(v: object, field: str) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        d = dt.date.fromisoformat(str(v).strip())
    except ValueError:
        raise InputError(field, "a date YYYY-MM-DD", v) from None
    if not 1990 <= d.year <= 2100:
        raise InputError(field, "a date 1990–2100", v)
    return d


def _list(v: object, field: str) -> list[Any]:
    if not isinstance(v, list | tuple):
        raise InputError(field, "a list", v)
    if len(v) > MAX_LIST:
        raise InputError(field, f"at most {MAX_LIST} items", len(v))
    return list(v)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or now_beijing()).replace(tzinfo=None, microsecond=0)


#: The transaction of the :func:`batch` running in this context, with its store.
_BATCH: ContextVar[tuple[Store, Transaction] | None] = ContextVar("programmes_batch", default=None)


@contextmanager
def batch(store: Store) -> Iterator[None]:
    """Run several of this module's writes in one store transaction: all or nothing (the demo
    seeds its programme so). :func:`supervise` is not one of them (it is enforcement's own
    transaction); reads inside see the store as it was before the batch."""
    if _BATCH.get() is not None:
        raise ConflictError("programmes: a batch is already running")
    with store.transaction() as tx:
        token = _BATCH.set((store, tx))
        try:
            yield
        finally:
            _BATCH.reset(token)


@contextmanager
def _tx(store: Store) -> Iterator[Transaction]:
    running = _BATCH.get()
    if running is not None and running[0] is store:
        yield running[1]
        return
    with store.transaction() as tx:
        yield tx


def _counties(tx: Transaction) -> set[str]:
    return {r[0] for r in tx.fetch("SELECT code FROM regions")}


# -- audit --------------------------------------------------------------------------------------
AUDIT = AuditTable("programme_audit")
#: The events in order (of one subject, e.g. ``case:DC-2026-001``; at most *limit*).
audit_events = AUDIT.events
#: Check the whole chain (:class:`ConflictError` naming the first break); the event count.
verify_audit = AUDIT.verify


# -- evidence files -----------------------------------------------------------------------------
def _subject_exists(tx: Transaction, subject: str) -> None:
    kind, _, sid = subject.partition(":")
    table = {"case": "programme_case", "project": "programme_project"}.get(kind)
    if table is None or not tx.fetch(f"SELECT id FROM {table} WHERE id = ?", [sid]):  # noqa: S608
        raise NotFoundError(f"{subject} does not exist")


def add_file(
    store: Store, subject: str, name: str, media_type: str, content: bytes, by: str, role: str,
    *, now: dt.datetime | None = None, max_bytes: int = evidence.MAX_BYTES,
) -> tuple[dict[str, Any], bool]:  # fmt: skip
    """Store one evidence file of ``case:<id>`` or ``project:<id>``: ``(record, created)``.

    Checked as enforcement's evidence (size, type, signature, name); the same bytes on the
    same subject are one file. The upload is an audit event carrying the SHA-256.
    """
    by = text(by, "by", 120)  # who acts, as the audit chain records it
    clean, mt = evidence.check_upload(name, media_type, content, max_bytes)
    digest = hashlib.sha256(content).hexdigest()
    fid = hashlib.sha256(f"{subject}\n{digest}".encode()).hexdigest()[:32]
    at = _now(now)
    with _tx(store) as tx:
        _subject_exists(tx, subject)
        cols = ", ".join(_FILE)
        same = tx.fetch(f"SELECT {cols} FROM programme_file WHERE id = ?", [fid])  # noqa: S608
        if same:
            return _file(same[0]), False
        n = int(tx.fetch("SELECT COUNT(*) FROM programme_file WHERE subject = ?", [subject])[0][0])
        if n >= MAX_FILES:
            raise InputError("files", f"at most {MAX_FILES} files on one {subject}", n + 1)
        rec = {"id": fid, "subject": subject, "name": clean, "media_type": mt,
               "size": len(content), "sha256": digest}  # fmt: skip
        e = AUDIT.append(tx, at, by, role, f"file:{fid}", "upload", "", "stored", rec)
        row = [fid, subject, clean, mt, len(content), digest, by, at, e.seq]
        tx.execute(f"INSERT INTO programme_file ({cols}, content) "  # noqa: S608
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [*row, content])  # fmt: skip
    return _file(row), True


def _file(row: Sequence[Any]) -> dict[str, Any]:
    d = dict(zip(_FILE, row, strict=True))
    d["size"], d["audit_seq"] = int(d["size"]), int(d["audit_seq"])
    d["uploaded_at"] = d["uploaded_at"].isoformat()
    return d


def list_files(store: Store, subject: str) -> list[dict[str, Any]]:
    rows = store.query(f"SELECT {', '.join(_FILE)} FROM programme_file WHERE subject = ? "  # noqa: S608
                       "ORDER BY audit_seq", [subject])  # fmt: skip
    return [_file(list(r.values())) for r in rows]


def read_file(store: Store, subject: str, fid: str) -> tuple[dict[str, Any], bytes]:
    """A file and its bytes, which must still hash to the recorded SHA-256."""
    rows = store.query(f"SELECT {', '.join(_FILE)}, content FROM programme_file "  # noqa: S608
                       "WHERE subject = ? AND id = ?", [subject, fid])  # fmt: skip
    if not rows:
        raise NotFoundError(f"file {fid} of {subject} does not exist")
    row = rows[0]
    content = bytes(row.pop("content"))
    rec = _file(list(row.values()))
    if hashlib.sha256(content).hexdigest() != rec["sha256"]:
        raise ConflictError(f"file {fid}: stored bytes do not match its SHA-256")
    return rec, content


def _refs(tx: Transaction, subject: str, v: object, field: str) -> list[dict[str, Any]]:
    ids = [str(x) for x in _list(v if v is not None else [], field)]
    if not ids:
        return []
    marks = ", ".join("?" for _ in ids)
    rows = tx.fetch(f"SELECT id, name, sha256 FROM programme_file WHERE subject = ? "  # noqa: S608
                    f"AND id IN ({marks})", [subject, *ids])  # fmt: skip
    found = {r[0]: {"id": r[0], "name": r[1], "sha256": r[2]} for r in rows}
    for i in ids:
        if i not in found:
            raise InputError(field, f"ids of files uploaded to {subject}", i[:40])
    return [found[i] for i in dict.fromkeys(ids)]


# -- damage cases -------------------------------------------------------------------------------
def _case_row(c: dm.Case, at: dt.datetime) -> list[Any]:
    body = json.dumps(c.as_dict(), ensure_ascii=False, default=str)
    return [c.id, str(c.state), c.county, c.title, ",".join(c.liable), body, at]


_CASE_COLS = ("id", "state", "county", "title", "liable", "body", "updated")


def register_case(store: Store, row: Mapping[str, Any], by: str, role: str = "officer",
                  *, now: dt.datetime | None = None) -> dm.Case:  # fmt: skip
    """Register a case (线索登记): id, title, county, site, event_date, lead_source, liable
    (credit codes of registered enterprises; may be empty until identified), claimant."""
    by = text(by, "by", 120)  # who acts, as the audit chain records it
    at = _now(now)
    liable = tuple(dict.fromkeys(text(u, "liable", 18) for u in _list(row.get("liable") or [],
                                                                       "liable")))  # fmt: skip
    for u in liable:
        if not USCC.match(u):
            raise InputError("liable", "unified social credit codes (GB 32100)", u)
    c = dm.Case(
        ident(row.get("id"), "id"), text(row.get("title"), "title"),
        text(row.get("county"), "county", 20), text(row.get("site"), "site"),
        date(row.get("event_date"), "event_date"), text(row.get("lead_source"), "lead_source", 60),
        liable, claimant=text(row.get("claimant"), "claimant", required=False),
        illustrative=bool(row.get("illustrative", False)),
    )  # fmt: skip
    with _tx(store) as tx:
        if c.county not in _counties(tx):
            raise InputError("county", "a registered region", c.county)
        known = {r[0] for r in tx.fetch("SELECT uscc FROM enterprises")} if liable else set()
        for u in liable:
            if u not in known:
                raise InputError("liable", "an enterprise of the registry", u)
        if tx.fetch("SELECT id FROM programme_case WHERE id = ?", [c.id]):
            raise ConflictError(f"case {c.id} already exists")
        tx.insert_rows("programme_case", _CASE_COLS, [_case_row(c, at)])
        AUDIT.append(tx, at, by, role, f"case:{c.id}", "register", "", str(c.state),
                     {k: v for k, v in c.as_dict().items() if k != "allowed_actions"})  # fmt: skip
    return c


def set_liable(store: Store, case_id: str, liable: Sequence[str], by: str, role: str = "officer",
               *, now: dt.datetime | None = None) -> dm.Case:  # fmt: skip
    """Name the liable parties once identified (before consultation)."""
    by = text(by, "by", 120)  # who acts, as the audit chain records it
    at = _now(now)
    codes = tuple(dict.fromkeys(text(u, "liable", 18) for u in _list(list(liable), "liable")))
    with _tx(store) as tx:
        c = _load_case(tx, case_id)
        if c.state not in (dm.State.REGISTERED, dm.State.INVESTIGATING, dm.State.ASSESSED):
            raise ConflictError(f"case {case_id}: liable parties are fixed once {c.state}")
        known = {r[0] for r in tx.fetch("SELECT uscc FROM enterprises")}
        for u in codes:
            if u not in known:
                raise InputError("liable", "an enterprise of the registry", u)
        c2 = dm.Case(**{**c.__dict__, "liable": codes})
        tx.upsert_rows("programme_case", _CASE_COLS, ("id",), [_case_row(c2, at)])
        AUDIT.append(tx, at, by, role, f"case:{case_id}", "liable", str(c.state),
                     str(c.state), {"liable": list(codes)})  # fmt: skip
    return c2


def _load_case(tx: Transaction, case_id: str) -> dm.Case:
    rows = tx.fetch("SELECT body FROM programme_case WHERE id = ?", [case_id])
    if not rows:
        raise NotFoundError(f"case {case_id} does not exist")
    return dm.case_from_dict(json.loads(rows[0][0]))


def _case_payload(tx: Transaction, c: dm.Case, act: dm.Action, p: Mapping[str, Any]
                  ) -> dict[str, Any]:  # fmt: skip
    """The validated payload of *act* (types the guards check; file ids → records)."""
    subject = f"case:{c.id}"
    out: dict[str, Any] = {}
    for k in (
        "reason",
        "summary",
        "assessor",
        "court",
        "ruling_no",
        "conclusion",
        "exempt",
        "note",
        "payer",
        "voucher_no",
        "terms",
    ):
        if k in p:
            out[k] = text(p[k], k, MAX_TEXT, required=False)
    if act is dm.Action.DECLINE and "reason" in p:
        out["reason"] = text(p["reason"], "reason", 60)
    if "method" in p:
        out["method"] = text(p["method"], "method", 20)
    if "restoration" in p:
        out["restoration"] = text(p["restoration"], "restoration", 20)
    if "amounts" in p:
        a = p["amounts"]
        if not isinstance(a, Mapping) or len(a) > len(dm.HEADS):
            raise InputError("amounts", "an object of amounts by head", str(a)[:100])
        out["amounts"] = {text(k, "amounts", 40): money.fen(v, f"amounts.{k}", positive=False)
                          for k, v in a.items()}  # fmt: skip
    if "amount_fen" in p:
        out["amount_fen"] = money.fen(p["amount_fen"], "amount_fen", positive=False)
    for k in ("on", "signed_on", "paid_on", "published_from", "published_to", "notice_on"):
        if k in p:
            out[k] = date(p[k], k)
    if "report" in p:
        refs = _refs(tx, subject, [p["report"]] if isinstance(p["report"], str) else p["report"],
                     "report")  # fmt: skip
        out["report"] = refs
    if "files" in p:
        out["files"] = _refs(tx, subject, p["files"], "files")
    if act is dm.Action.SCHEDULE:
        parts = [(date(i.get("due_on") if isinstance(i, Mapping) else None,
                       f"instalments[{n}].due_on"),
                  money.fen(i.get("amount_fen"), f"instalments[{n}].amount_fen"))
                 for n, i in enumerate(_list(p.get("instalments"), "instalments"), 1)]  # fmt: skip
        total = int((c.settlement or {}).get("amount_fen", 0))
        out["schedule"] = money.make_schedule(total, parts)
    return out


def _case_facts(tx: Transaction, case_id: str) -> dict[str, Any]:
    rows = tx.fetch("SELECT id, state FROM programme_project WHERE case_id = ?", [case_id])
    done = bool(rows) and all(r[1] == "accepted" for r in rows)
    return {"restoration_projects": [r[0] for r in rows], "restoration_accepted": done}


def act_case(
    store: Store, case_id: str, action: str, payload: Mapping[str, Any], by: str,
    role: dm.Role | str = dm.Role.OFFICER, *, now: dt.datetime | None = None,
    settings: dm.Settings | None = None,
) -> dm.Case:  # fmt: skip
    """Take *action* on a case (see :data:`bishui.programmes.damage.TRANSITIONS`)."""
    by = text(by, "by", 120)  # who acts, as the audit chain records it
    at = _now(now)
    r = dm.Role(role)
    with _tx(store) as tx:
        c = _load_case(tx, case_id)
        try:
            act = dm.Action(action)
        except ValueError:
            raise InputError("action", "one of " + ", ".join(dm.Action), action) from None
        p = _case_payload(tx, c, act, payload)
        c2 = dm.apply(c, act, r, by, at, p, _case_facts(tx, case_id), settings or dm.Settings())
        tx.upsert_rows("programme_case", _CASE_COLS, ("id",), [_case_row(c2, at)])
        rec = {k: (v.as_dict() if isinstance(v, money.Schedule) else v) for k, v in p.items()}
        AUDIT.append(
            tx, at, by, str(r), f"case:{case_id}", str(act), str(c.state), str(c2.state), rec
        )
    return c2


def get_case(store: Store, case_id: str) -> dm.Case:
    rows = store.query("SELECT body FROM programme_case WHERE id = ?", [case_id])
    if not rows:
        raise NotFoundError(f"case {case_id} does not exist")
    return dm.case_from_dict(json.loads(rows[0]["body"]))


def list_cases(store: Store, counties: Sequence[str] | None = None, uscc: str | None = None,
               state: str | None = None) -> list[dm.Case]:  # fmt: skip
    """Cases (of *counties*; of which *uscc* is a liable party), newest id last."""
    cond, args = ["TRUE"], []  # type: list[str], list[Any]
    if counties is not None:
        cond.append("county IN (" + ", ".join("?" for _ in counties) + ")" if counties else "FALSE")
        args += list(counties)
    if state:
        cond.append("state = ?")
        args.append(state)
    rows = store.query(f"SELECT body FROM programme_case WHERE {' AND '.join(cond)} "  # noqa: S608
                       "ORDER BY id", args)  # fmt: skip
    out = [dm.case_from_dict(json.loads(r["body"])) for r in rows]
    return [c for c in out if uscc is None or uscc in c.liable]


# -- projects -----------------------------------------------------------------------------------
_PROJECT_COLS = ("id", "name", "kind", "county", "owner", "programme", "budget_fen", "state",
                 "case_id", "illustrative", "body", "updated")  # fmt: skip


def register_projects(store: Store, rows: Sequence[Mapping[str, Any]], by: str,
                      role: str = "officer", *, now: dt.datetime | None = None) -> int:  # fmt: skip
    """Register projects: id, name, kind (:data:`projects.KINDS`), county, owner, programme,
    budget_fen, funding ([{fund, planned_fen}]), milestones ([{name, planned_on, actual_on}]),
    case_id (a restoration project of a damage case), illustrative, started_on.

    A project already under way (a register taken over with its history) gives ``started_on``
    and the actual dates of the milestones done: it is registered under construction. All
    rows in one transaction, all or nothing."""
    by = text(by, "by", 120)  # who acts, as the audit chain records it
    if len(rows) > 5_000:
        raise InputError("rows", "at most 5000 per call", len(rows))
    at = _now(now)
    rules = fd.load_rules()
    out: list[list[Any]] = []
    ms: list[tuple[Any, ...]] = []
    for r in rows:
        pid = ident(r.get("id"), "id")
        kind = text(r.get("kind"), "kind", 40)
        if kind not in pj.KINDS:
            raise InputError("kind", "one of " + ", ".join(pj.KINDS), kind)
        budget = money.fen(r.get("budget_fen"), "budget_fen", positive=False)
        funding: list[dict[str, Any]] = []
        for n, f in enumerate(_list(r.get("funding") or [], "funding"), 1):
            code = rules.fund(text(f.get("fund"), f"funding[{n}].fund", 40)).code
            funding.append({"fund": code,
                            "planned_fen": money.fen(f.get("planned_fen"),
                                                     f"funding[{n}].planned_fen")})  # fmt: skip
        if sum(f["planned_fen"] for f in funding) > budget:
            raise InputError("funding", "planned funding within the budget", budget)
        started = date(r["started_on"], "started_on") if r.get("started_on") else None
        last = None
        for n, m in enumerate(_list(r.get("milestones") or [], "milestones"), 1):
            on = date(m.get("planned_on"), f"milestones[{n}].planned_on")
            if last is not None and on < last:
                raise InputError(f"milestones[{n}].planned_on", "in order", on)
            last = on
            done = (
                date(m["actual_on"], f"milestones[{n}].actual_on") if m.get("actual_on") else None
            )
            if done is not None and (started is None or done > at.date()):
                raise InputError(f"milestones[{n}].actual_on",
                                 "a past date of a started project (started_on)", done)  # fmt: skip
            ms.append((pid, n, text(m.get("name"), f"milestones[{n}].name"), on, done, None))
        case_id = ident(r["case_id"], "case_id") if r.get("case_id") else None
        body = {"funding": funding, "note": text(r.get("note"), "note", MAX_TEXT, False),
                "source": text(r.get("source"), "source", 500, False)}  # fmt: skip
        state = pj.State.PLANNED
        if started is not None:
            body["started_on"], state = started.isoformat(), pj.State.UNDER_CONSTRUCTION
        out.append([pid, text(r.get("name"), "name"), kind, text(r.get("county"), "county", 20),
                    text(r.get("owner"), "owner"), text(r.get("programme"), "programme", 60),
                    budget, str(state), case_id, bool(r.get("illustrative", False)),
                    json.dumps(body, ensure_ascii=False), at])  # fmt: skip
    with _tx(store) as tx:
        known = _counties(tx)
        existing = {x[0] for x in tx.fetch("SELECT id FROM programme_project")}
        cases = {x[0] for x in tx.fetch("SELECT id FROM programme_case")}
        for row in out:
            if row[3] not in known:
                raise InputError("county", "a registered region", row[3])
            if row[0] in existing:
                raise ConflictError(f"project {row[0]} already exists")
            if row[8] is not None and row[8] not in cases:
                raise InputError("case_id", "a registered damage case", row[8])
        tx.insert_rows("programme_project", _PROJECT_COLS, out)
        tx.insert_rows("programme_milestone", ("project_id", "seq", "name", "planned_on",
                                               "actual_on", "task_id"), ms)  # fmt: skip
        # project → its milestones' actual dates, recorded with the registration
        finished: dict[str, list[dict[str, Any]]] = {}
        for m in ms:
            if m[4] is not None:
                finished.setdefault(m[0], []).append({"seq": m[1], "on": m[4]})
        AUDIT.append_many(tx, at, by, role, [
            (f"project:{row[0]}", "register", "", str(row[7]),
             {**dict(zip(_PROJECT_COLS[:10], row[:10], strict=True)),
              "milestones_done": finished.get(row[0], [])}) for row in out])  # fmt: skip
    return len(out)


def _milestones(tx: Transaction, pid: str) -> list[pj.Milestone]:
    rows = tx.fetch("SELECT seq, name, planned_on, actual_on, task_id FROM programme_milestone "
                    "WHERE project_id = ? ORDER BY seq", [pid])  # fmt: skip
    return [pj.Milestone(int(r[0]), r[1], r[2], r[3], r[4]) for r in rows]


def act_project(
    store: Store, project_id: str, action: str, payload: Mapping[str, Any], by: str,
    role: dm.Role | str = dm.Role.OFFICER, *, now: dt.datetime | None = None,
) -> str:  # fmt: skip
    """Take *action* on a project (:data:`projects.TRANSITIONS`); its new state."""
    by = text(by, "by", 120)  # who acts, as the audit chain records it
    at = _now(now)
    r = dm.Role(role)
    subject = f"project:{project_id}"
    with _tx(store) as tx:
        rows = tx.fetch("SELECT state, body FROM programme_project WHERE id = ?", [project_id])
        if not rows:
            raise NotFoundError(f"project {project_id} does not exist")
        state, body = pj.State(rows[0][0]), json.loads(rows[0][1])
        p: dict[str, Any] = {}
        if "on" in payload:
            p["on"] = date(payload["on"], "on")
        if "seq" in payload:
            p["seq"] = int(money.fen(payload["seq"], "seq"))
        if "reason" in payload:
            p["reason"] = text(payload["reason"], "reason", MAX_TEXT)
        if "report" in payload:
            rep = payload["report"]
            p["report"] = _refs(tx, subject, [rep] if isinstance(rep, str) else rep, "report")
        if "files" in payload:
            p["files"] = _refs(tx, subject, payload["files"], "files")
        ms = _milestones(tx, project_id)
        nxt = pj.check(project_id, state, action, r, p, ms)
        act = pj.Action(action)
        if act is pj.Action.MILESTONE:
            tx.execute("UPDATE programme_milestone SET actual_on = ? WHERE project_id = ? "
                       "AND seq = ?", [p["on"], project_id, p["seq"]])  # fmt: skip
        else:
            key = {"start": "started_on", "complete": "completed_on", "accept": "accepted_on",
                   "cancel": "cancelled_on"}[str(act)]  # fmt: skip
            body[key] = (p.get("on") or at.date()).isoformat()
            if act is pj.Action.ACCEPT:
                body["acceptance"] = {"report": p["report"], "by": by}
            if act is pj.Action.CANCEL:
                body["cancel_reason"] = p["reason"]
        tx.execute("UPDATE programme_project SET state = ?, body = ?, updated = ? WHERE id = ?",
                   [str(nxt), json.dumps(body, ensure_ascii=False), at, project_id])  # fmt: skip
        AUDIT.append(tx, at, by, str(r), subject, str(act), str(state), str(nxt), p)
    return str(nxt)


def _project(r: Mapping[str, Any], ms: list[pj.Milestone], today: dt.date) -> dict[str, Any]:
    body = json.loads(r["body"])
    state = pj.State(r["state"])
    late = {m.seq for m in pj.overdue(state, ms, today)}
    return {
        **{k: r[k] for k in _PROJECT_COLS if k not in ("body", "updated")},
        "budget_fen": int(r["budget_fen"]), "illustrative": bool(r["illustrative"]), **body,
        "milestones": [{"seq": m.seq, "name": m.name, "planned_on": m.planned_on.isoformat(),
                        "actual_on": m.actual_on.isoformat() if m.actual_on else None,
                        "task_id": m.task_id, "overdue": m.seq in late} for m in ms],
        "allowed_actions": [str(a) for (s, a) in pj.TRANSITIONS if s is state],
    }  # fmt: skip


def list_projects(
    store: Store, counties: Sequence[str] | None = None, programme: str | None = None,
    today: dt.date | None = None, project_id: str | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Projects with milestones (overdue flagged) and fund balances, by id."""
    today = today or now_beijing().date()
    cond, args = ["TRUE"], []  # type: list[str], list[Any]
    if counties is not None:
        cond.append("county IN (" + ", ".join("?" for _ in counties) + ")" if counties else "FALSE")
        args += list(counties)
    if programme:
        cond.append("programme = ?")
        args.append(programme)
    if project_id:
        cond.append("id = ?")
        args.append(project_id)
    where = " AND ".join(cond)
    rows = store.query(f"SELECT * FROM programme_project WHERE {where} ORDER BY id", args)  # noqa: S608
    inner = f"SELECT id FROM programme_project WHERE {where}"  # noqa: S608
    mrows = store.query(
        "SELECT project_id, seq, name, planned_on, actual_on, task_id FROM programme_milestone "  # noqa: S608
        f"WHERE project_id IN ({inner}) ORDER BY project_id, seq",
        args,
    )
    by_p: dict[str, list[pj.Milestone]] = {}
    for m in mrows:
        by_p.setdefault(m["project_id"], []).append(
            pj.Milestone(int(m["seq"]), m["name"], m["planned_on"], m["actual_on"], m["task_id"])
        )
    bal = _balances(store, where, args)
    out = []
    for r in rows:
        d = _project(r, by_p.get(r["id"], []), today)
        b = bal.get(r["id"], {})
        d["funds"] = {f: {"allocated_fen": x.allocated_fen, "disbursed_fen": x.disbursed_fen,
                          "available_fen": x.available_fen} for f, x in b.items()}  # fmt: skip
        out.append(d)
    return out


def get_project(store: Store, project_id: str, today: dt.date | None = None) -> dict[str, Any]:
    got = list_projects(store, today=today, project_id=project_id)
    if not got:
        raise NotFoundError(f"project {project_id} does not exist")
    return got[0]


# -- funds --------------------------------------------------------------------------------------
def _balances(store: Store, where: str, args: Sequence[Any]) -> dict[str, dict[str, money.Balance]]:
    inner = f"SELECT id FROM programme_project WHERE {where}"  # noqa: S608
    rows = store.query(
        "SELECT project_id, fund, kind, amount_fen FROM programme_ledger "  # noqa: S608
        f"WHERE project_id IN ({inner}) ORDER BY seq",
        list(args),
    )
    per: dict[str, list[tuple[str, str, int]]] = {}
    for r in rows:
        per.setdefault(r["project_id"], []).append((r["fund"], r["kind"], int(r["amount_fen"])))
    return {p: money.balances(e) for p, e in per.items()}


def post_entry(
    store: Store, project_id: str, kind: str, row: Mapping[str, Any], by: str,
    role: str = "finance", *, now: dt.datetime | None = None, rules: fd.Rules | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One entry (:func:`post_entries`); its record with the fund's balance after it."""
    return post_entries(store, [{**row, "project_id": project_id, "kind": kind}], by, role,
                        now=now, rules=rules)[0]  # fmt: skip


def post_entries(
    store: Store, rows: Sequence[Mapping[str, Any]], by: str, role: str = "finance", *,
    now: dt.datetime | None = None, rules: fd.Rules | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """Allocate (``allocate``: fund, amount_fen, on, doc — the allocation document's number) or
    disburse (``disburse``: fund, amount_fen, use, on, doc) money of a project.

    The ledger conserves (``allocated = disbursed + available``); a disbursement beyond the
    fund's allocation to the project, for a use the fund's rules do not allow or beyond a cap,
    is refused; allocations in total stay within the project's budget.
    """
    by = text(by, "by", 120)  # who acts, as the audit chain records it
    if len(rows) > 5_000:
        raise InputError("rows", "at most 5000 per call", len(rows))
    at = _now(now)
    rules = rules or fd.load_rules()
    parsed = []
    for r in rows:
        kind = text(r.get("kind"), "kind", 20)
        if kind not in money.ENTRY_KINDS:
            raise InputError("kind", "one of " + ", ".join(money.ENTRY_KINDS), kind)
        parsed.append((
            ident(r.get("project_id"), "project_id"), kind,
            rules.fund(text(r.get("fund"), "fund", 40)).code,
            money.fen(r.get("amount_fen"), "amount_fen"), date(r.get("on"), "on"),
            text(r.get("doc"), "doc", 200),
            text(r.get("use"), "use", 40) if kind == money.DISBURSE else None,
        ))  # fmt: skip
    with _tx(store) as tx:
        pids = sorted({x[0] for x in parsed})
        marks = ", ".join("?" for _ in pids)
        projects = {r[0]: (r[1], int(r[2])) for r in tx.fetch(
            f"SELECT id, state, budget_fen FROM programme_project WHERE id IN ({marks})",  # noqa: S608
            pids)}  # fmt: skip
        entries: dict[str, list[tuple[str, str, int, str | None]]] = {p: [] for p in pids}
        for e in tx.fetch(
            "SELECT project_id, fund, kind, amount_fen, purpose FROM "  # noqa: S608
            f"programme_ledger WHERE project_id IN ({marks}) ORDER BY seq",
            pids,
        ):
            entries[e[0]].append((e[1], e[2], int(e[3]), e[4]))
        seq = int(tx.fetch("SELECT MAX(seq) FROM programme_ledger")[0][0] or 0)
        out, recs = [], []
        for pid, kind, fund, amount, on, doc, use in parsed:
            if pid not in projects:
                raise NotFoundError(f"project {pid} does not exist")
            state, budget = projects[pid]
            if state == pj.State.CANCELLED:
                raise ConflictError(f"project {pid} is cancelled")
            mine_entries = entries[pid]
            bal = money.balances((e[0], e[1], e[2]) for e in mine_entries)
            mine = bal.get(fund, money.Balance())
            if kind == money.ALLOCATE:
                total = sum(b.allocated_fen for b in bal.values()) + amount
                if total > budget:
                    raise ConflictError(f"project {pid}: allocations of {total} fen exceed "
                                        f"the budget {budget} fen")  # fmt: skip
            else:
                assert use is not None
                used = sum(e[2] for e in mine_entries if e[0] == fund and e[1] == money.DISBURSE
                           and e[3] == use)  # fmt: skip
                fd.check_disbursement(rules, fund, use, amount, mine.allocated_fen, used)
            after = money.post(mine, kind, amount)
            seq += 1
            mine_entries.append((fund, kind, amount, use))
            out.append([seq, pid, fund, kind, amount, use, on, doc, by, at])
            recs.append({
                "seq": seq, "project_id": pid, "fund": fund, "kind": kind, "amount_fen": amount,
                "use": use, "on": on.isoformat(), "doc": doc,
                "allocated_fen": after.allocated_fen, "disbursed_fen": after.disbursed_fen,
                "available_fen": after.available_fen,
            })  # fmt: skip
        tx.insert_rows("programme_ledger", ("seq", "project_id", "fund", "kind", "amount_fen",
                       "purpose", "on_date", "doc", "entered_by", "entered_at"), out)  # fmt: skip
        AUDIT.append_many(tx, at, by, role, [
            (f"project:{r['project_id']}", str(r["kind"]), "", "", r) for r in recs])  # fmt: skip
    return recs


def ledger(store: Store, project_id: str) -> list[dict[str, Any]]:
    """A project's fund entries in order, each with the fund's running balance."""
    rows = store.query(
        "SELECT seq, fund, kind, amount_fen, purpose, on_date, doc, entered_by "
        "FROM programme_ledger WHERE project_id = ? ORDER BY seq",
        [project_id],
    )
    bal: dict[str, money.Balance] = {}
    out = []
    for r in rows:
        b = money.post(bal.get(r["fund"], money.Balance()), r["kind"], int(r["amount_fen"]))
        bal[r["fund"]] = b
        row = {k: v for k, v in r.items() if k != "purpose"}
        out.append(
            {
                **row,
                "use": r["purpose"],
                "amount_fen": int(r["amount_fen"]),
                "on_date": r["on_date"].isoformat(),
                "allocated_fen": b.allocated_fen,
                "disbursed_fen": b.disbursed_fen,
                "available_fen": b.available_fen,
            }
        )
    return out


def programme_summary(store: Store, programme: str, counties: Sequence[str] | None = None,
                      today: dt.date | None = None) -> dict[str, Any]:  # fmt: skip
    """A programme's projects by state, milestones done and overdue, and its money [fen]."""
    ps = list_projects(store, counties, programme, today)
    states: dict[str, int] = {}
    for p in ps:
        states[p["state"]] = states.get(p["state"], 0) + 1
    ms = [m for p in ps for m in p["milestones"]]
    funds = [f for p in ps for f in p["funds"].values()]
    return {
        "programme": programme, "projects": len(ps), "states": states,
        "milestones": len(ms), "milestones_done": sum(m["actual_on"] is not None for m in ms),
        "milestones_overdue": sum(m["overdue"] for m in ms),
        "budget_fen": sum(p["budget_fen"] for p in ps),
        "allocated_fen": sum(f["allocated_fen"] for f in funds),
        "disbursed_fen": sum(f["disbursed_fen"] for f in funds),
        "available_fen": sum(f["available_fen"] for f in funds),
    }  # fmt: skip


# -- 督办: overdue milestones → enforcement tasks -----------------------------------------------
RULE_OVERDUE = "programme.milestone_overdue"


def refresh(store: Store, now: dt.datetime) -> list[str]:
    """The platform's periodic task (``bishui.app.REFRESH``): :func:`supervise` as of *now*
    (Beijing time); nothing is handed in twice."""
    return supervise(store, now.date(), now=now)


def supervise(store: Store, today: dt.date | None = None, *, now: dt.datetime | None = None
              ) -> list[str]:  # fmt: skip
    """Hand every overdue milestone without a task to enforcement's intake (one alert each,
    severity ``medium``); record the task on the milestone. The ids of the tasks opened."""
    at = _now(now)
    today = today or at.date()
    rows = store.query(
        "SELECT m.project_id, m.seq, m.name, m.planned_on, p.county, p.name AS project "
        "FROM programme_milestone m JOIN programme_project p ON p.id = m.project_id "
        "WHERE m.actual_on IS NULL AND m.task_id IS NULL AND m.planned_on < ? "
        "AND p.state IN (?, ?) ORDER BY m.project_id, m.seq",
        [today, str(pj.State.PLANNED), str(pj.State.UNDER_CONSTRUCTION)],
    )  # fmt: skip
    if not rows:
        return []
    findings = [AlertIn(
        key=f"programme:{r['project_id']}:{r['seq']}", rule_id=RULE_OVERDUE, severity="medium",
        site_code=r["project_id"], pollutant=f"milestone-{r['seq']}",
        start=dt.datetime.combine(r["planned_on"], dt.time()), end=at,
        evidence={"project": r["project_id"], "project_name": r["project"], "milestone": r["seq"],
                  "milestone_name": r["name"], "planned_on": r["planned_on"].isoformat(),
                  "today": today.isoformat()},
        subject_kind=tk.PROJECT, region=r["county"], subject_name=r["project"],
    ) for r in rows]  # fmt: skip
    regions = {r["project_id"]: r["county"] for r in rows}
    alerts, tasks = enf.raise_alerts(store, findings, regions, now=at)
    by_alert = {a.id: a.task_id for a in alerts}
    opened = [t.id for t in tasks]
    with store.transaction() as tx:
        for r in rows:
            tid = by_alert.get(f"programme:{r['project_id']}:{r['seq']}")
            if tid:
                tx.execute("UPDATE programme_milestone SET task_id = ? WHERE project_id = ? "
                           "AND seq = ?", [tid, r["project_id"], r["seq"]])  # fmt: skip
                AUDIT.append(
                    tx,
                    at,
                    "system",
                    "system",
                    f"project:{r['project_id']}",
                    "supervise",
                    "",
                    "",
                    {"milestone": r["seq"], "task_id": tid},
                )
    return opened
