"""The store-backed police domain: transfer cases with their evidence packages, joint
operations with their visits and findings, and the audit log of every write.

The pure machines (:mod:`~bishui.police.transfer`, :mod:`~bishui.police.operations`) decide;
this module persists. Each change is one ``store.transaction()`` with its event appended to
``police_audit``, hash-chained like enforcement's log (the same
:class:`~bishui.enforcement.audit.AuditEvent`, through the workflows' shared
:class:`~bishui.enforcement.audit_table.AuditTable`), so :func:`verify_audit` detects any edit.

The evidence package of a transfer is built from enforcement's public reads — the task
(:func:`bishui.enforcement.service.get_task`), its files with their SHA-256
(:func:`bishui.enforcement.evidence.list_files`; each file's bytes are re-hashed by
:func:`~bishui.enforcement.evidence.read_file` before it goes in) and its audit events
(:func:`bishui.enforcement.service.audit_events`) — and hashed as canonical JSON
(:func:`package_hash`). Findings of an operation enter enforcement through its intake
(:func:`bishui.enforcement.service.raise_alerts` with :class:`~bishui.enforcement.intake.AlertIn`);
nothing here moves a task.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from bishui.enforcement import evidence
from bishui.enforcement import service as enf
from bishui.enforcement.audit_table import AuditTable
from bishui.enforcement.intake import OUTLET, AlertIn
from bishui.errors import (
    BishuiError,
    ConflictError,
    InputError,
    NotFoundError,
    PermissionDenied,
)
from bishui.police import operations as op
from bishui.police import transfer as tr
from bishui.police.rules import Rules, load_rules
from bishui.store import Store, Transaction
from bishui.timeutil import now_beijing

PACKAGE_FORMAT = "bishui.police.package/1"
RULE_ID = "police.joint_operation"  # the enforcement rule id of an operation's findings
MAX_FINDINGS = 20


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or now_beijing()).replace(tzinfo=None, microsecond=0)


# ---------------------------------------------------------------- audit
AUDIT = AuditTable("police_audit")
#: The events in order (of one subject, ``case:<id>`` or ``operation:<id>``).
audit_events = AUDIT.events
#: Check the whole chain (:class:`ConflictError` naming the first break); the event count.
verify_audit = AUDIT.verify


# ---------------------------------------------------------------- cases
def _next_id(tx: Transaction, table: str, prefix: str, width: int) -> str:
    rows = tx.fetch(f"SELECT id FROM {table} WHERE id LIKE ?", [f"{prefix}-%"])  # noqa: S608
    n = max((int(r[0].rsplit("-", 1)[1]) for r in rows), default=0) + 1
    return f"{prefix}-{n:0{width}d}"


def _write_case(tx: Transaction, c: tr.Case, at: dt.datetime) -> None:
    tx.execute("DELETE FROM police_case WHERE id = ?", [c.id])
    tx.execute(
        "INSERT INTO police_case (id, task_id, state, region, uscc, created, transferred_at, "
        "updated, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [c.id, c.task_id, str(c.state), c.region, c.uscc or None, c.created, c.transferred_at,
         at, json.dumps(c.as_dict(), ensure_ascii=False)],
    )  # fmt: skip


def case_role(web_role: str) -> tr.Role:
    role = tr.CASE_ROLES.get(web_role)
    if role is None:
        raise PermissionDenied(f"{web_role} takes no part in case transfer")
    return role


def propose(
    store: Store, task_id: str, report: Any, officers: Any, articles: Any, *, by: str,
    role: str, now: dt.datetime | None = None, rules: Rules | None = None,
) -> tr.Case:  # fmt: skip
    """Propose transferring enforcement task *task_id* to the police (state ``proposed``).

    Only inspectors and the head (``inspector``, ``chief``, ``admin``) propose; a task with a
    live case (not declined or withdrawn) is refused.
    """
    rules = rules or load_rules()
    if case_role(role) is tr.Role.POLICE:
        raise PermissionDenied("the police do not propose transfers")
    rep, offs, arts = tr.check_proposal(report, officers, articles, rules)
    task, region = enf.get_task(store, tr.text(task_id, "task_id", max_len=40))
    at = _now(now)
    with store.transaction() as tx:
        live = tx.fetch(
            "SELECT id FROM police_case WHERE task_id = ? AND state NOT IN ('declined', "
            "'withdrawn')",
            [task.id],
        )
        if live:
            raise ConflictError(f"task {task.id} already has case {live[0][0]}")
        cid = _next_id(tx, "police_case", f"YS{at:%Y%m%d}", 3)
        c = tr.Case(cid, task.id, task.uscc, task.site_code, region, task.title, rep, offs,
                    arts, by, at, entered=at)  # fmt: skip
        _write_case(tx, c, at)
        AUDIT.append(tx, at, by, role, f"case:{cid}", "propose", "", str(c.state),
                     {"task_id": task.id, "report": rep, "officers": list(offs),
                      "articles": list(arts)})  # fmt: skip
    return c


def _case(store: Store | Transaction, case_id: str) -> tr.Case:
    if isinstance(store, Transaction):
        rows = store.fetch("SELECT body FROM police_case WHERE id = ?", [case_id])
        body = rows[0][0] if rows else None
    else:
        found = store.query("SELECT body FROM police_case WHERE id = ?", [case_id])
        body = found[0]["body"] if found else None
    if body is None:
        raise NotFoundError(f"case {case_id} does not exist")
    return tr.case_from_dict(json.loads(body))


def get_case(store: Store, case_id: str, *, police_only: bool = False) -> tr.Case:
    """A case; with *police_only* (the police role) only one transferred to the police —
    any other is reported as not existing (404, never 403: its existence is not theirs)."""
    c = _case(store, case_id)
    if police_only and c.transferred_at is None:
        raise NotFoundError(f"case {case_id} does not exist")
    return c


def list_cases(
    store: Store, *, police_only: bool = False, state: str | None = None, limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[dict[str, Any]]]:  # fmt: skip
    cond, args = ["TRUE"], []
    if police_only:
        cond.append("transferred_at IS NOT NULL")
    if state:
        cond.append("state = ?")
        args.append(state)
    total, rows = store.page(
        f"SELECT body FROM police_case WHERE {' AND '.join(cond)} "  # noqa: S608
        "ORDER BY created DESC, id DESC",
        args, limit=limit, offset=offset,
    )  # fmt: skip
    return total, [json.loads(r["body"]) for r in rows]


def case_view(
    c: tr.Case, rules: Rules, web_role: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """A case with its deadline, whether it is overdue and what the caller may do next."""
    d = c.as_dict()
    dl = tr.deadline(c, rules)
    at = _now(now)
    d["deadline"] = dl[0].isoformat() if dl else None
    d["deadline_what"] = dl[1] if dl else None
    d["overdue"] = bool(dl and at > dl[0])
    role = tr.CASE_ROLES.get(web_role)
    d["actions"] = [str(a) for a in tr.allowed(c.state, role)] if role else []
    return d


def package_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of the package's canonical JSON (sorted keys, no spaces, UTF-8)."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def build_package(store: Store, c: tr.Case, version: int, at: dt.datetime,
                  rules: Rules) -> dict[str, Any]:  # fmt: skip
    """The evidence package (310号令 Art 6): the transfer's report and legal basis, the task,
    each evidence file with its SHA-256 (re-hashed from the stored bytes now), and the task's
    audit events with their chain hashes."""
    task, _ = enf.get_task(store, c.task_id)
    files = []
    for f in evidence.list_files(store, c.task_id):
        rec, _ = evidence.read_file(store, c.task_id, f.id)  # refuses bytes that changed
        files.append({**rec.ref(), "uploaded_at": rec.uploaded_at.isoformat(),
                      "uploaded_by": rec.uploaded_by, "audit_seq": rec.audit_seq})  # fmt: skip
    events = enf.audit_events(store, f"task:{c.task_id}")
    events += [e for f in files for e in enf.audit_events(store, f"evidence:{f['id']}")]
    events.sort(key=lambda e: e.seq)
    return {
        "format": PACKAGE_FORMAT, "case_id": c.id, "version": version,
        "created": at.isoformat(), "rules_edition": rules.edition,
        "report": c.report, "officers": list(c.officers),
        "legal_basis": [rules.articles[a].as_dict() for a in c.articles if a in rules.articles],
        "task": {"id": task.id, "title": task.title, "uscc": task.uscc,
                 "site_code": task.site_code, "severity": task.severity,
                 "state": str(task.state), "created": task.created.isoformat(),
                 "disposal": task.disposal, "suggested_article": task.suggested_article},
        "files": files,
        "audit": [{"seq": e.seq, "time": e.time.isoformat(), "subject": e.subject,
                   "action": e.action, "hash": e.hash} for e in events],
        "checklist": {
            "移送书": True, "调查报告": bool(c.report),
            "检验报告或鉴定结论": any(f["media_type"] == "application/pdf" for f in files),
            "其他证据材料": bool(files),
        },
    }  # fmt: skip


def act(
    store: Store, case_id: str, action: str, payload: Mapping[str, Any], *, by: str,
    role: str, now: dt.datetime | None = None, rules: Rules | None = None,
) -> tr.Case:  # fmt: skip
    """Take *action* on a case through :func:`transfer.apply` and persist it with its audit
    event; ``transfer`` and ``supplement`` build, hash and store a new package version."""
    rules = rules or load_rules()
    crole = case_role(role)
    at = _now(now)
    payload = dict(payload)
    current = get_case(store, case_id, police_only=crole is tr.Role.POLICE)
    pkg: dict[str, Any] | None = None
    if action in tr.PACKAGE_ACTIONS and (current.state, tr.Action(action)) in tr.TRANSITIONS:
        pkg = build_package(store, current, current.package_version + 1, at, rules)
        payload["package_sha256"] = package_hash(pkg)
    with store.transaction() as tx:
        c = _case(tx, case_id)
        if c.state != current.state:
            raise ConflictError(f"case {case_id} changed meanwhile; try again")
        new, event = tr.apply(c, action, crole, by, at, payload, rules)
        if pkg is not None:
            tx.insert_rows("police_package", ("case_id", "version", "created", "sha256", "body"),
                           [[c.id, event["package_version"], at, event["package_sha256"],
                             json.dumps(pkg, ensure_ascii=False, sort_keys=True)]])  # fmt: skip
        _write_case(tx, new, at)
        AUDIT.append(tx, at, by, role, f"case:{c.id}", str(action), str(c.state),
                     str(new.state), event)  # fmt: skip
    return new


def get_package(store: Store, case_id: str, version: int | None = None) -> dict[str, Any]:
    """A stored package version (the latest by default) with its hash and a verification:
    the body still hashes to it, each file's bytes still hash to theirs, and each audit event
    cited is still in enforcement's chain with the same hash."""
    sql = "SELECT version, sha256, body FROM police_package WHERE case_id = ?"
    args: list[Any] = [case_id]
    if version is not None:
        sql += " AND version = ?"
        args.append(version)
    rows = store.query(sql + " ORDER BY version DESC LIMIT 1", args)
    if not rows:
        raise NotFoundError(f"case {case_id} has no package" +
                            (f" version {version}" if version else ""))  # fmt: skip
    body = json.loads(rows[0]["body"])
    problems = []
    if package_hash(body) != rows[0]["sha256"]:
        problems.append("package: body does not hash to its SHA-256")
    for f in body["files"]:
        try:
            rec, _ = evidence.read_file(store, body["task"]["id"], f["id"])
            if rec.sha256 != f["sha256"]:
                problems.append(f"file {f['id']}: SHA-256 differs")
        except BishuiError as e:  # gone (NotFoundError) or altered (StorageError): a finding
            problems.append(f"file {f['id']}: {e}")
    subjects = {a["subject"] for a in body["audit"]}
    known = {e.seq: e.hash for s in subjects for e in enf.audit_events(store, s)}
    for a in body["audit"]:
        if known.get(a["seq"]) != a["hash"]:
            problems.append(f"audit event {a['seq']}: not in the chain as cited")
    return {"case_id": case_id, "version": rows[0]["version"], "sha256": rows[0]["sha256"],
            "verified": not problems, "problems": problems, "package": body}  # fmt: skip


def case_file(store: Store, c: tr.Case, file_id: str) -> tuple[evidence.EvidenceFile, bytes]:
    """A file of the case's latest package (what the police may download)."""
    pkg = get_package(store, c.id)["package"]
    if file_id not in {f["id"] for f in pkg["files"]}:
        raise NotFoundError(f"file {file_id} is not in case {c.id}'s package")
    return evidence.read_file(store, c.task_id, file_id)


# ---------------------------------------------------------------- operations
def _targets(tx: Transaction, targets: Any) -> list[dict[str, Any]]:
    """Targets ``{"site": id}`` or ``{"uscc": code}`` from the registry: each becomes a site
    (an enterprise: its first source site) with its enterprise, name and region."""
    if not isinstance(targets, list) or not targets:
        raise InputError("targets", "a non-empty list of {site} or {uscc}", targets)
    if len(targets) > op.MAX_TARGETS:
        raise InputError("targets", f"at most {op.MAX_TARGETS}", len(targets))
    out: dict[str, dict[str, Any]] = {}
    for t in targets:
        if not isinstance(t, dict) or not (t.get("site") or t.get("uscc")):
            raise InputError("targets", "{site: id} or {uscc: code}", t)
        if t.get("site"):
            rows = tx.fetch("SELECT id, name, region, enterprise FROM sites WHERE id = ?",
                            [str(t["site"])[:40]])  # fmt: skip
            if not rows:
                raise InputError("targets.site", "a registered site", t["site"])
        else:
            rows = tx.fetch(
                "SELECT id, name, region, enterprise FROM sites WHERE enterprise = ? "
                "ORDER BY id LIMIT 1",
                [str(t["uscc"])[:18]],
            )
            if not rows:
                raise InputError("targets.uscc", "a registered enterprise with a site", t["uscc"])
        sid, name, region, uscc = rows[0]
        ent = ""
        if uscc:
            e = tx.fetch("SELECT name FROM enterprises WHERE uscc = ?", [uscc])
            ent = e[0][0] if e else ""
        out[sid] = {"site": sid, "site_name": name, "region": region, "uscc": uscc or "",
                    "enterprise": ent}  # fmt: skip
    return list(out.values())


def plan_operation(
    store: Store, spec: Mapping[str, Any], *, by: str, role: str,
    now: dt.datetime | None = None, rules: Rules | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Plan an operation: ``{name, kind: joint|night, start, end, targets, team, notes?}``."""
    rules = rules or load_rules()
    at = _now(now)
    name = tr.text(spec.get("name"), "name", max_len=200)
    kind = str(spec.get("kind") or "")
    start = op.parse_time(spec.get("start"), "start")
    end = op.parse_time(spec.get("end"), "end")
    op.check_window(kind, start, end, rules)
    team = op.check_team(spec.get("team"), kind)
    notes = tr.text(spec.get("notes"), "notes", required=False)
    with store.transaction() as tx:
        targets = _targets(tx, spec.get("targets"))
        oid = _next_id(tx, "police_operation", f"OP{start:%Y%m%d}", 2)
        state = str(op.State.PLANNED)
        body: dict[str, Any] = {
            "id": oid, "name": name, "kind": kind, "state": state, "start": start.isoformat(),
            "end": end.isoformat(), "targets": targets, "team": team, "notes": notes,
            "created_by": by, "created": at.isoformat(), "history": [],
        }  # fmt: skip
        tx.execute(
            "INSERT INTO police_operation (id, name, kind, state, start_ts, end_ts, created, "
            "created_by, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [oid, name, kind, body["state"], start, end, at, by,
             json.dumps(body, ensure_ascii=False)],
        )  # fmt: skip
        AUDIT.append(
            tx,
            at,
            by,
            role,
            f"operation:{oid}",
            "plan",
            "",
            str(body["state"]),
            {k: body[k] for k in ("name", "kind", "start", "end", "targets", "team")},
        )
    return body


def _operation(tx: Transaction, oid: str) -> dict[str, Any]:
    rows = tx.fetch("SELECT body FROM police_operation WHERE id = ?", [oid])
    if not rows:
        raise NotFoundError(f"operation {oid} does not exist")
    body: dict[str, Any] = json.loads(rows[0][0])
    return body


def _save_operation(tx: Transaction, body: Mapping[str, Any]) -> None:
    tx.execute("UPDATE police_operation SET state = ?, body = ? WHERE id = ?",
               [body["state"], json.dumps(body, ensure_ascii=False), body["id"]])  # fmt: skip


def operation_act(
    store: Store, oid: str, action: str, payload: Mapping[str, Any], *, by: str, role: str,
    now: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Start, finish (with a summary) or cancel (with a reason) an operation."""
    at = _now(now)
    with store.transaction() as tx:
        body = _operation(tx, oid)
        before = op.State(body["state"])
        nxt, required = op.next_state(before, action)
        event = {f: tr.text(payload.get(f), f) for f in required}
        body = {
            **body,
            "state": str(nxt),
            **event,
            "history": [
                *body.get("history", []),
                {"at": at.isoformat(), "by": by, "action": action, **event},
            ],
        }
        _save_operation(tx, body)
        AUDIT.append(tx, at, by, role, f"operation:{oid}", action, str(before), str(nxt), event)
    return body


def record_visit(
    store: Store, oid: str, spec: Mapping[str, Any], *, by: str, role: str,
    now: dt.datetime | None = None, rules: Rules | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A visit of an operation under way: ``{site, at, note, findings: [{description,
    severity}]}``. The visit time lies in the operation's window; the site is one of its
    targets. Findings at or above ``task_severity`` enter enforcement's intake and raise an
    alert and a task (rule ``police.joint_operation``)."""
    rules = rules or load_rules()
    at = _now(now)
    site = tr.text(spec.get("site"), "site", max_len=40)
    when = op.parse_time(spec.get("at") or at, "at")
    note = tr.text(spec.get("note"), "note", required=False)
    raw = spec.get("findings") or []
    if not isinstance(raw, list) or len(raw) > MAX_FINDINGS:
        raise InputError("findings", f"a list of at most {MAX_FINDINGS}", raw)
    findings = []
    for f in raw:
        if not isinstance(f, dict):
            raise InputError("findings", "objects {description, severity}", f)
        sev = str(f.get("severity") or "")
        if sev not in rules.severities:
            raise InputError("findings.severity", f"one of {', '.join(rules.severities)}", sev)
        findings.append({"description": tr.text(f.get("description"), "findings.description",
                                                max_len=1000), "severity": sev})  # fmt: skip
    found = store.query("SELECT body FROM police_operation WHERE id = ?", [oid])
    if not found:
        raise NotFoundError(f"operation {oid} does not exist")
    body = json.loads(found[0]["body"])
    if op.State(body["state"]) not in op.VISIT_STATES:
        raise op.TransitionRefused(f"operation {oid}: visits are recorded while under way, "
                                   f"not when {body['state']}")  # fmt: skip
    start, end = dt.datetime.fromisoformat(body["start"]), dt.datetime.fromisoformat(body["end"])
    if not start <= when <= end:
        raise InputError("at", f"within the window {body['start']} – {body['end']}",
                         when.isoformat())  # fmt: skip
    target = next((t for t in body["targets"] if t["site"] == site), None)
    if target is None:
        raise InputError("site", "one of the operation's targets", site)
    with store.transaction() as tx:
        vid = _next_id(tx, "police_visit", f"{oid}-V", 3)
    rank = {s: i for i, s in enumerate(rules.severities)}
    handed = [
        AlertIn(key=f"police:{vid}:{i}", rule_id=RULE_ID, severity=f["severity"],
                site_code=site, pollutant="", start=when, end=when,
                evidence={"operation": oid, "visit": vid, "description": f["description"],
                          "kind": body["kind"]},
                uscc=target["uscc"], subject_kind=OUTLET, region=target["region"],
                subject_name=target["enterprise"] or target["site_name"])
        for i, f in enumerate(findings)
        if rank[f["severity"]] >= rank[rules.task_severity]
    ]  # fmt: skip
    if handed:
        alerts, _tasks = enf.raise_alerts(store, handed, {site: target["region"]}, now=at)
        by_key = {a.id: a for a in alerts}
        for i, f in enumerate(findings):
            a = by_key.get(f"police:{vid}:{i}")
            if a is not None:
                f["alert_id"], f["task_id"] = a.id, a.task_id
    visit = {"id": vid, "operation": oid, "site": site, "uscc": target["uscc"],
             "at": when.isoformat(), "by": by, "note": note, "findings": findings}  # fmt: skip
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO police_visit (id, op_id, site_code, uscc, visited_at, by_user, note, "
            "findings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [vid, oid, site, target["uscc"] or None, when, by, note,
             json.dumps(findings, ensure_ascii=False)],
        )  # fmt: skip
        AUDIT.append(tx, at, by, role, f"operation:{oid}", "visit", body["state"],
                     body["state"], visit)  # fmt: skip
    return visit


def list_operations(
    store: Store, limit: int = 100, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    total, rows = store.page(
        "SELECT body FROM police_operation ORDER BY start_ts DESC, id DESC", [],
        limit=limit, offset=offset,
    )  # fmt: skip
    return total, [json.loads(r["body"]) for r in rows]


def get_operation(store: Store, oid: str) -> dict[str, Any]:
    rows = store.query("SELECT body FROM police_operation WHERE id = ?", [oid])
    if not rows:
        raise NotFoundError(f"operation {oid} does not exist")
    body: dict[str, Any] = json.loads(rows[0]["body"])
    body["visits"] = visits(store, oid)
    return body


def visits(store: Store, oid: str) -> list[dict[str, Any]]:
    rows = store.query(
        "SELECT id, site_code, uscc, visited_at, by_user, note, findings FROM police_visit "
        "WHERE op_id = ? ORDER BY visited_at, id",
        [oid],
    )
    return [{"id": r["id"], "site": r["site_code"], "uscc": r["uscc"] or "",
             "at": r["visited_at"].isoformat(), "by": r["by_user"], "note": r["note"],
             "findings": json.loads(r["findings"])} for r in rows]  # fmt: skip
