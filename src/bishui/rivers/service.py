"""The store-backed chief system: registry, assignments, volunteers, patrols, problems, views.

Every write is one transaction with its event(s) in ``river_audit`` (hash-chained:
:func:`verify_audit`), and every state change goes through its machine
(:mod:`bishui.rivers.machines`). A problem found on patrol enters the
enforcement loop through enforcement's intake (:func:`bishui.enforcement.service.raise_alerts`
with an :class:`~bishui.enforcement.intake.AlertIn` of subject kind ``river_section``): one
alert and one task with the deadline of the enforcement policy for the category's severity,
assigned to the category's department (``dept:<name>``). Enforcement's own machine works the
task; :func:`sync` marks a problem ``resolved`` when its task is closed, and the section's chief
confirms it (or disputes it: a new alert and task, ``round`` + 1).

Who sees what (:func:`scope_sections`): bureau staff every section; a county official the
sections of his region (and those under it); a chief the sections he is assigned to and the
sections under them (a county chief supervises the township and village chiefs below him); a
volunteer supervisor the sections of his area and those under them; anyone else nothing.
Joint-control groups (:func:`joint_view`) share their member counties' data with each other's
county officials and with the chiefs of the group's water bodies.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bishui.enforcement import evidence as ev
from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.enforcement.audit_table import AuditTable
from bishui.enforcement.intake import AlertIn
from bishui.errors import ConflictError, InputError, NotFoundError, PermissionDenied
from bishui.rivers import machines as m
from bishui.rivers import track as trk
from bishui.rivers.rules import LEVELS, Rules, load_rules
from bishui.store import Store, Transaction
from bishui.timeutil import now_beijing

STAFF = ("admin", "analyst", "inspector", "chief")
BODY_KINDS = {"river": ("河流", "river"), "lake": ("湖泊", "lake"),
              "reservoir": ("水库", "reservoir")}  # fmt: skip
LEVEL_ZH = {"city": "市级", "county": "县级", "township": "乡级", "village": "村级"}
#: 河长 for a river, 湖长 for a lake or reservoir (厅字〔2016〕42号, 厅字〔2017〕51号).
TITLE = {"river": "河长", "lake": "湖长", "reservoir": "湖长"}
SHARED = ("water_quality", "open_problems", "patrol_coverage")
MAX_ID = 64


@dataclass(frozen=True)
class Who:
    """The caller: account name, web role, and a county official's regions."""

    username: str
    role: str
    regions: tuple[str, ...] = ()


SYSTEM = Who("system", m.SYSTEM)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (now or now_beijing()).replace(tzinfo=None, microsecond=0)


#: The chief system's audit log, hash-chained (:func:`verify_audit` names the first break).
AUDIT = AuditTable("river_audit")
#: The events in order (of one subject, ``problem:<id>``, ``patrol:<id>`` …).
audit_events = AUDIT.events
#: Check the whole chain (:class:`ConflictError` naming the first break); the event count.
verify_audit = AUDIT.verify


def _audit(
    tx: Transaction, at: dt.datetime, who: Who, subject: str, action: str, frm: str | None,
    to: str, detail: Mapping[str, Any] | None = None,
) -> None:  # fmt: skip
    AUDIT.append(tx, at, who.username, who.role, subject, action, frm or "", to, detail)


def _text(v: Any, field: str, limit: int, *, required: bool = True) -> str:
    if v is None:
        v = ""
    if not isinstance(v, str):
        raise InputError(field, "text", repr(v)[:100])
    s = v.strip()
    if required and not s:
        raise InputError(field, "non-empty text", v)
    if len(s) > limit:
        raise InputError(field, f"at most {limit} characters", s[:100] + "…")
    return s


def _ident(v: Any, field: str) -> str:
    s = _text(v, field, MAX_ID)
    if not all(c.isalnum() or c in "-_." for c in s) or not s.isascii():
        raise InputError(field, "letters, digits, - _ . (at most 64)", s)
    return s


def _day(v: Any, field: str) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    try:
        return dt.date.fromisoformat(str(v))
    except ValueError:
        raise InputError(field, "a date YYYY-MM-DD", v) from None


# ---------------------------------------------------------------- registry
def load_registry(
    store: Store, doc: Mapping[str, Any], who: Who, *, now: dt.datetime | None = None
) -> dict[str, int]:
    """Bodies, sections, chiefs, assignments, volunteers and joint-control groups from a
    document (``demo/jingmen/rivers.toml`` is one): rows with an id already stored are
    replaced, assignments and volunteers only added (their state moves by their machines).
    All or nothing, audited (one row per entry)."""
    if who.role != m.ADMIN and who is not SYSTEM:
        raise PermissionDenied("only an administrator loads the river-chief registry")
    at = _now(now)
    counts = dict.fromkeys(("bodies", "sections", "chiefs", "assignments", "volunteers",
                            "joint"), 0)  # fmt: skip
    with store.transaction() as tx:
        regions = {r[0] for r in tx.fetch("SELECT code FROM regions")}
        bodies = {r[0]: r[1] for r in tx.fetch("SELECT id, kind FROM river_body")}
        for b in doc.get("bodies", []):
            bid = _ident(b.get("id"), "bodies.id")
            kind = str(b.get("kind"))
            if kind not in BODY_KINDS:
                raise InputError("bodies.kind", "one of " + ", ".join(BODY_KINDS), kind)
            tx.execute("DELETE FROM river_body WHERE id = ?", [bid])
            tx.execute("INSERT INTO river_body (id, name, kind, source) VALUES (?, ?, ?, ?)",
                       [bid, _text(b.get("name"), "bodies.name", 100), kind,
                        _text(b.get("source"), "bodies.source", 1000)])  # fmt: skip
            bodies[bid] = kind
            _audit(tx, at, who, f"body:{bid}", "load", None, "stored", b)
            counts["bodies"] += 1
        known = {r[0] for r in tx.fetch("SELECT id FROM river_section")}
        water_sites = {r[0] for r in tx.fetch("SELECT id FROM sites WHERE kind = 'water'")}
        for s in doc.get("sections", []):
            sid = _ident(s.get("id"), "sections.id")
            body, level = str(s.get("body")), str(s.get("level"))
            if body not in bodies:
                raise InputError("sections.body", "a water body of the registry", body)
            if level not in LEVELS:
                raise InputError("sections.level", "one of " + ", ".join(LEVELS), level)
            region = str(s.get("region"))
            if region not in regions:
                raise InputError("sections.region", "a region of the registry", region)
            parent = s.get("parent") or None
            if parent is not None and parent not in known:
                raise InputError("sections.parent", "a section listed before it", parent)
            sites = [str(x) for x in s.get("sites", [])]
            if len(sites) > 50 or not set(sites) <= water_sites:
                raise InputError("sections.sites", "at most 50 water sections of the registry",
                                 sorted(set(sites) - water_sites)[:10] or len(sites))  # fmt: skip
            tx.execute("DELETE FROM river_section WHERE id = ?", [sid])
            tx.execute(
                "INSERT INTO river_section (id, body_id, name, level, parent_id, region, sites, "
                "source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [sid, body, _text(s.get("name"), "sections.name", 100), level, parent, region,
                 json.dumps(sites), _text(s.get("source"), "sections.source", 1000)],
            )  # fmt: skip
            known.add(sid)
            _audit(tx, at, who, f"section:{sid}", "load", None, "stored", s)
            counts["sections"] += 1
        chiefs = {r[0] for r in tx.fetch("SELECT id FROM river_chief")}
        for c in doc.get("chiefs", []):
            cid = _ident(c.get("id"), "chiefs.id")
            level = str(c.get("level"))
            if level not in LEVELS:
                raise InputError("chiefs.level", "one of " + ", ".join(LEVELS), level)
            tx.execute("DELETE FROM river_chief WHERE id = ?", [cid])
            tx.execute(
                "INSERT INTO river_chief (id, name, level, username, post, synthetic) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [cid, _text(c.get("name"), "chiefs.name", 100), level, c.get("username") or None,
                 _text(c.get("post", ""), "chiefs.post", 200, required=False),
                 bool(c.get("synthetic", True))],
            )  # fmt: skip
            chiefs.add(cid)
            _audit(tx, at, who, f"chief:{cid}", "load", None, "stored", c)
            counts["chiefs"] += 1
        for a in doc.get("assignments", []):
            _assign(tx, at, who, str(a.get("chief")), str(a.get("section")), a.get("start"))
            counts["assignments"] += 1
        for v in doc.get("volunteers", []):
            _enrol(tx, at, who, v)
            counts["volunteers"] += 1
        for g in doc.get("joint", []):
            gid = _ident(g.get("id"), "joint.id")
            gb = [str(x) for x in g.get("bodies", [])]
            members = [str(x) for x in g.get("members", [])]
            if not gb or any(x not in bodies for x in gb):
                raise InputError("joint.bodies", "water bodies of the registry", gb)
            if len(members) < 1 or any(x not in regions for x in members):
                raise InputError("joint.members", "regions of the registry", members)
            tx.execute("DELETE FROM river_joint WHERE id = ?", [gid])
            tx.execute(
                "INSERT INTO river_joint (id, bodies, name, members, neighbours, shared, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [gid, json.dumps(gb), _text(g.get("name"), "joint.name", 100),
                 json.dumps(members), json.dumps([str(x) for x in g.get("neighbours", [])],
                                                 ensure_ascii=False),
                 json.dumps([str(x) for x in g.get("shared", SHARED)]),
                 _text(g.get("source"), "joint.source", 1000)],
            )  # fmt: skip
            _audit(tx, at, who, f"joint:{gid}", "load", None, "stored", g)
            counts["joint"] += 1
    return counts


def _assign(
    tx: Transaction, at: dt.datetime, who: Who, chief: str, section: str, start: Any
) -> str:
    found = tx.fetch("SELECT level FROM river_chief WHERE id = ?", [chief])
    if not found:
        raise InputError("chief", "a chief of the registry", chief)
    sec = tx.fetch(
        "SELECT s.level, b.kind FROM river_section s JOIN river_body b ON b.id = s.body_id "
        "WHERE s.id = ?",
        [section],
    )
    if not sec:
        raise InputError("section", "a section of the registry", section)
    if found[0][0] != sec[0][0]:
        raise InputError("section", f"a {found[0][0]}-level section for a {found[0][0]} chief",
                         section)  # fmt: skip
    live = tx.fetch(
        "SELECT id FROM river_assignment WHERE chief_id = ? AND section_id = ? "
        "AND state = 'active'",
        [chief, section],
    )
    if live:
        return str(live[0][0])  # already assigned: loading again changes nothing
    state = m.ASSIGNMENT.step(None, "assign", m.ADMIN if who is SYSTEM else who.role)
    aid = "RA-" + secrets.token_hex(6)
    title = TITLE[sec[0][1]]
    day = _day(start, "start")
    tx.execute(
        "INSERT INTO river_assignment (id, chief_id, section_id, title, start_date, end_date, "
        "state, reason) VALUES (?, ?, ?, ?, ?, NULL, ?, NULL)",
        [aid, chief, section, title, day, state],
    )
    _audit(tx, at, who, f"assignment:{aid}", "assign", None, state,
           {"chief": chief, "section": section, "start": day, "title": title})  # fmt: skip
    return aid


def assign(
    store: Store, who: Who, chief: str, section: str, start: Any, *, now: dt.datetime | None = None
) -> str:
    """Assign *chief* to *section* from *start* (an administrator); the assignment's id."""
    m.ASSIGNMENT.step(None, "assign", who.role)
    with store.transaction() as tx:
        return _assign(tx, _now(now), who, chief, section, start)


def end_assignment(
    store: Store, who: Who, assignment_id: str, end: Any, reason: str, *,
    now: dt.datetime | None = None,
) -> None:  # fmt: skip
    """End an assignment on *end* (a new chief takes over, a term ends), with its reason."""
    at = _now(now)
    reason = _text(reason, "reason", 500)
    day = _day(end, "end")
    with store.transaction() as tx:
        rows = tx.fetch("SELECT state, start_date FROM river_assignment WHERE id = ?",
                        [assignment_id])  # fmt: skip
        if not rows:
            raise NotFoundError(f"assignment {assignment_id} does not exist")
        state = m.ASSIGNMENT.step(rows[0][0], "end", who.role)
        if day < rows[0][1]:
            raise InputError("end", "not before the assignment's start", day.isoformat())
        tx.execute("UPDATE river_assignment SET state = ?, end_date = ?, reason = ? WHERE id = ?",
                   [state, day, reason, assignment_id])  # fmt: skip
        _audit(tx, at, who, f"assignment:{assignment_id}", "end", rows[0][0], state,
               {"end": day, "reason": reason})  # fmt: skip


def _enrol(tx: Transaction, at: dt.datetime, who: Who, v: Mapping[str, Any]) -> str:
    vid = _ident(v.get("id"), "volunteers.id")
    if tx.fetch("SELECT id FROM river_volunteer WHERE id = ?", [vid]):
        return vid  # loaded before: its state is the machine's
    area = [str(x) for x in v.get("area", [])]
    if not area or len(area) > 100:
        raise InputError("volunteers.area", "1 to 100 sections", len(area))
    marks = ", ".join("?" for _ in area)
    found = {r[0] for r in tx.fetch(f"SELECT id FROM river_section WHERE id IN ({marks})", area)}  # noqa: S608
    if set(area) - found:
        raise InputError("volunteers.area", "sections of the registry", sorted(set(area) - found))
    state = m.VOLUNTEER_MACHINE.step(None, "enrol", m.ADMIN if who is SYSTEM else who.role)
    tx.execute(
        "INSERT INTO river_volunteer (id, name, username, area, start_date, end_date, state, "
        "synthetic) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
        [vid, _text(v.get("name"), "volunteers.name", 100), v.get("username") or None,
         json.dumps(area), _day(v.get("start"), "start"), state, bool(v.get("synthetic", True))],
    )  # fmt: skip
    _audit(tx, at, who, f"volunteer:{vid}", "enrol", None, state, v)
    return vid


def enrol_volunteer(
    store: Store, who: Who, volunteer: Mapping[str, Any], *, now: dt.datetime | None = None
) -> str:
    """Enrol a volunteer supervisor (id, name, username, area, start)."""
    m.VOLUNTEER_MACHINE.step(None, "enrol", who.role)
    with store.transaction() as tx:
        return _enrol(tx, _now(now), who, volunteer)


def end_volunteer(
    store: Store, who: Who, volunteer_id: str, end: Any, reason: str, *,
    now: dt.datetime | None = None,
) -> None:  # fmt: skip
    at = _now(now)
    reason = _text(reason, "reason", 500)
    day = _day(end, "end")
    with store.transaction() as tx:
        rows = tx.fetch("SELECT state FROM river_volunteer WHERE id = ?", [volunteer_id])
        if not rows:
            raise NotFoundError(f"volunteer {volunteer_id} does not exist")
        state = m.VOLUNTEER_MACHINE.step(rows[0][0], "end", who.role)
        tx.execute("UPDATE river_volunteer SET state = ?, end_date = ? WHERE id = ?",
                   [state, day, volunteer_id])  # fmt: skip
        _audit(tx, at, who, f"volunteer:{volunteer_id}", "end", rows[0][0], state,
               {"end": day, "reason": reason})  # fmt: skip


# ---------------------------------------------------------------- scope
def _sections(store: Store | Transaction) -> list[dict[str, Any]]:
    sql = ("SELECT s.id, s.body_id, s.name, s.level, s.parent_id, s.region, s.sites, s.source, "
           "b.name AS body_name, b.kind AS body_kind FROM river_section s "
           "JOIN river_body b ON b.id = s.body_id ORDER BY s.body_id, s.id")  # fmt: skip
    if isinstance(store, Store):
        rows = store.query(sql)
    else:
        cols = ("id", "body_id", "name", "level", "parent_id", "region", "sites", "source",
                "body_name", "body_kind")  # fmt: skip
        rows = [dict(zip(cols, r, strict=True)) for r in store.fetch(sql)]
    for r in rows:
        r["sites"] = json.loads(r["sites"])
    return rows


def _with_descendants(all_rows: Sequence[Mapping[str, Any]], roots: Iterable[str]) -> set[str]:
    children: dict[str, list[str]] = {}
    for r in all_rows:
        if r["parent_id"]:
            children.setdefault(r["parent_id"], []).append(r["id"])
    out: set[str] = set()
    stack = list(roots)
    while stack:
        s = stack.pop()
        if s not in out:
            out.add(s)
            stack.extend(children.get(s, []))
    return out


def chief_of(store: Store | Transaction, username: str) -> str | None:
    sql = "SELECT id FROM river_chief WHERE username = ?"
    if isinstance(store, Store):
        rows = store.query(sql, [username])
        return str(rows[0]["id"]) if rows else None
    found = store.fetch(sql, [username])
    return str(found[0][0]) if found else None


def volunteer_of(store: Store | Transaction, username: str) -> tuple[str, list[str]] | None:
    """An active volunteer's id and area."""
    sql = "SELECT id, area FROM river_volunteer WHERE username = ? AND state = 'active'"
    if isinstance(store, Store):
        rows = [tuple(r.values()) for r in store.query(sql, [username])]
    else:
        rows = store.fetch(sql, [username])
    return (str(rows[0][0]), list(json.loads(rows[0][1]))) if rows else None


def _own_sections(store: Store | Transaction, who: Who) -> set[str]:
    """Sections a patroller works: a chief's assigned ones, a volunteer's area (no
    descendants: a patrol is the patroller's own section's)."""
    if who.role == m.CHIEF:
        sql = ("SELECT a.section_id FROM river_assignment a JOIN river_chief c "
               "ON c.id = a.chief_id WHERE c.username = ? AND a.state = 'active'")  # fmt: skip
        if isinstance(store, Store):
            return {r["section_id"] for r in store.query(sql, [who.username])}
        return {r[0] for r in store.fetch(sql, [who.username])}
    if who.role == m.VOLUNTEER:
        v = volunteer_of(store, who.username)
        return set(v[1]) if v else set()
    return set()


def scope_sections(store: Store, who: Who) -> set[str] | None:
    """The sections *who* may see; ``None`` for every section (staff)."""
    if who.role in STAFF:
        return None
    rows = _sections(store)
    if who.role == "county":
        return {r["id"] for r in rows if r["region"] in who.regions}
    if who.role in m.PATROLLERS:
        return _with_descendants(rows, _own_sections(store, who))
    return set()


def _check_section(store: Store, who: Who, section_id: str) -> None:
    scope = scope_sections(store, who)
    if scope is not None and section_id not in scope:
        raise NotFoundError(f"section {section_id} does not exist")  # as if it did not


def sections(store: Store, who: Who) -> list[dict[str, Any]]:
    """The sections *who* may see, with their chiefs (active assignments)."""
    scope = scope_sections(store, who)
    rows = [r for r in _sections(store) if scope is None or r["id"] in scope]
    chiefs: dict[str, list[dict[str, Any]]] = {}
    for a in store.query(
        "SELECT a.id, a.section_id, a.title, a.start_date, c.id AS chief_id, c.name, c.level "
        "FROM river_assignment a JOIN river_chief c ON c.id = a.chief_id "
        "WHERE a.state = 'active' ORDER BY a.start_date, a.id"
    ):
        chiefs.setdefault(a["section_id"], []).append(
            {
                "assignment": a["id"],
                "chief": a["chief_id"],
                "name": a["name"],
                "title": f"{LEVEL_ZH[a['level']]}{a['title']}",
                "since": a["start_date"].isoformat(),
            }
        )
    for r in rows:
        r["chiefs"] = chiefs.get(r["id"], [])
    return rows


def chiefs(store: Store, who: Who) -> list[dict[str, Any]]:
    """Chiefs with their assignments (active and ended), limited to the visible sections."""
    scope = scope_sections(store, who)
    out: dict[str, dict[str, Any]] = {}
    for r in store.query(
        "SELECT c.id, c.name, c.level, c.username, c.post, c.synthetic, a.id AS assignment, "
        "a.section_id, a.title, a.start_date, a.end_date, a.state, s.name AS section_name "
        "FROM river_chief c LEFT JOIN river_assignment a ON a.chief_id = c.id "
        "LEFT JOIN river_section s ON s.id = a.section_id ORDER BY c.id, a.start_date"
    ):
        if scope is not None and r["section_id"] not in scope:
            continue
        c = out.setdefault(r["id"], {"id": r["id"], "name": r["name"], "level": r["level"],
                                     "post": r["post"], "synthetic": r["synthetic"],
                                     "assignments": []})  # fmt: skip
        if r["assignment"]:
            c["assignments"].append({
                "id": r["assignment"], "section": r["section_id"],
                "section_name": r["section_name"], "title": r["title"],
                "start": r["start_date"].isoformat(),
                "end": r["end_date"].isoformat() if r["end_date"] else None,
                "state": r["state"],
            })  # fmt: skip
    return list(out.values())


# ---------------------------------------------------------------- patrols
_PATROL_COLS = ("id", "section_id", "patroller_kind", "person_id", "username", "state", "started",
                "ended", "points", "n_points", "distance_m", "duration_s", "valid", "note",
                "reason")  # fmt: skip


def _patrol(tx: Transaction, patrol_id: str) -> dict[str, Any]:
    cols = ", ".join(_PATROL_COLS)
    found = tx.fetch(f"SELECT {cols} FROM river_patrol WHERE id = ?", [patrol_id])  # noqa: S608
    if not found:
        raise NotFoundError(f"patrol {patrol_id} does not exist")
    return dict(zip(_PATROL_COLS, found[0], strict=True))


def _own_patrol(tx: Transaction, who: Who, patrol_id: str) -> dict[str, Any]:
    p = _patrol(tx, patrol_id)
    if who.role != m.ADMIN and p["username"] != who.username:
        raise NotFoundError(f"patrol {patrol_id} does not exist")  # another's: as if none
    return p


def start_patrol(
    store: Store, who: Who, section_id: str, *, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Start a patrol of one of the patroller's own sections (a chief's assigned section, a
    volunteer's area)."""
    at = _now(now)
    state = m.PATROL.step(None, "start", who.role)
    with store.transaction() as tx:
        if section_id not in _own_sections(tx, who):
            raise NotFoundError(f"section {section_id} is not one of yours")
        if who.role == m.CHIEF:
            person, kind = chief_of(tx, who.username) or "", "chief"
        else:
            v = volunteer_of(tx, who.username)
            person, kind = (v[0] if v else ""), "volunteer"
        pid = "RP-" + secrets.token_hex(6)
        tx.execute(
            f"INSERT INTO river_patrol ({', '.join(_PATROL_COLS)}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, NULL, '[]', 0, 0, 0, FALSE, '', NULL)",
            [pid, section_id, kind, person, who.username, state, at],
        )
        _audit(tx, at, who, f"patrol:{pid}", "start", None, state, {"section": section_id})
    return {"id": pid, "section_id": section_id, "state": state, "started": at.isoformat()}


def add_points(
    store: Store, who: Who, patrol_id: str, points: Any, *, rules: Rules | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Append a batch of track points to an open patrol (checked whole, size-limited)."""
    r = rules or load_rules()
    at = _now(now)
    with store.transaction() as tx:
        p = _own_patrol(tx, who, patrol_id)
        state = m.PATROL.step(p["state"], "track", who.role)
        before = trk.from_json(json.loads(p["points"]))
        new = trk.check_points(points, before, per_request=r.max_points_per_request,
                               total=r.max_points)  # fmt: skip
        allp = before + new
        dist, dur = round(trk.length_m(allp)), trk.duration_s(allp)
        tx.execute(
            "UPDATE river_patrol SET points = ?, n_points = ?, distance_m = ?, duration_s = ? "
            "WHERE id = ?",
            [json.dumps(trk.as_json(allp)), len(allp), dist, dur, patrol_id],
        )
        _audit(tx, at, who, f"patrol:{patrol_id}", "track", p["state"], state,
               {"points": len(new), "total": len(allp), "distance_m": dist})  # fmt: skip
    return {"id": patrol_id, "points": len(allp), "distance_m": dist, "duration_s": dur}


def add_photo(
    store: Store, who: Who, patrol_id: str, name: str, media_type: str, content: bytes, *,
    rules: Rules | None = None, now: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A photo of an open patrol, checked as enforcement evidence is
    (:func:`bishui.enforcement.evidence.check_upload`: size, type, signature, name); the same
    bytes twice are one photo."""
    r = rules or load_rules()
    clean, mt = ev.check_upload(name, media_type, content, r.max_photo_bytes)
    digest = hashlib.sha256(content).hexdigest()
    at = _now(now)
    with store.transaction() as tx:
        p = _own_patrol(tx, who, patrol_id)
        state = m.PATROL.step(p["state"], "photo", who.role)
        fid = ev.file_id(patrol_id, digest)
        same = tx.fetch("SELECT id FROM river_photo WHERE id = ?", [fid])
        rec = {"id": fid, "name": clean, "media_type": mt, "size": len(content),
               "sha256": digest}  # fmt: skip
        if same:
            return rec
        n = int(tx.fetch("SELECT COUNT(*) FROM river_photo WHERE patrol_id = ?",
                         [patrol_id])[0][0])  # fmt: skip
        if n >= r.max_photos_per_patrol:
            raise InputError("photos", f"at most {r.max_photos_per_patrol} photos on a patrol",
                             n + 1)  # fmt: skip
        tx.execute(
            "INSERT INTO river_photo (id, patrol_id, name, media_type, size, sha256, uploaded_by, "
            "uploaded_at, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [fid, patrol_id, clean, mt, len(content), digest, who.username, at, content],
        )
        _audit(tx, at, who, f"patrol:{patrol_id}", "photo", p["state"], state, rec)
    return rec


def read_photo(store: Store, who: Who, patrol_id: str, photo_id: str) -> tuple[dict[str, Any],
                                                                               bytes]:  # fmt: skip
    """A photo and its bytes (which must still hash to the recorded SHA-256)."""
    rows = store.query("SELECT section_id, username FROM river_patrol WHERE id = ?", [patrol_id])
    if not rows:
        raise NotFoundError(f"patrol {patrol_id} does not exist")
    _check_section(store, who, rows[0]["section_id"])
    found = store.query(
        "SELECT id, name, media_type, size, sha256, content FROM river_photo "
        "WHERE patrol_id = ? AND id = ?",
        [patrol_id, photo_id],
    )
    if not found:
        raise NotFoundError(f"photo {photo_id} of patrol {patrol_id} does not exist")
    rec = found[0]
    content = bytes(rec.pop("content"))
    if hashlib.sha256(content).hexdigest() != rec["sha256"]:
        from bishui.errors import StorageError

        raise StorageError(f"photo {photo_id}: stored bytes do not match its SHA-256")
    return rec, content


def submit_patrol(
    store: Store, who: Who, patrol_id: str, note: str = "", *, rules: Rules | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """End a patrol. It is *valid* (counts toward coverage) if it lasted and covered at least
    the rules' thresholds; a shorter one is kept, not counted."""
    r = rules or load_rules()
    at = _now(now)
    note = _text(note, "note", r.max_text, required=False)
    with store.transaction() as tx:
        p = _own_patrol(tx, who, patrol_id)
        state = m.PATROL.step(p["state"], "submit", who.role)
        if int(p["n_points"]) < 2:
            raise InputError("points", "a submitted patrol has a track of at least 2 points",
                             int(p["n_points"]))  # fmt: skip
        valid = (int(p["duration_s"]) >= r.min_minutes * 60
                 and int(p["distance_m"]) >= r.min_metres)  # fmt: skip
        tx.execute("UPDATE river_patrol SET state = ?, ended = ?, valid = ?, note = ? WHERE id = ?",
                   [state, at, valid, note, patrol_id])  # fmt: skip
        _audit(tx, at, who, f"patrol:{patrol_id}", "submit", p["state"], state,
               {"valid": valid, "distance_m": p["distance_m"], "duration_s": p["duration_s"],
                "rules": r.version})  # fmt: skip
    return {"id": patrol_id, "state": state, "valid": valid,
            "distance_m": int(p["distance_m"]), "duration_s": int(p["duration_s"])}  # fmt: skip


def close_patrol(
    store: Store, who: Who, patrol_id: str, action: str, reason: str, *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``cancel`` an open patrol (its patroller) or ``void`` a submitted one (an
    administrator), with the reason."""
    if action not in ("cancel", "void"):
        raise InputError("action", "cancel or void", action)
    at = _now(now)
    reason = _text(reason, "reason", 500)
    with store.transaction() as tx:
        p = _own_patrol(tx, who, patrol_id)
        state = m.PATROL.step(p["state"], action, who.role)
        tx.execute("UPDATE river_patrol SET state = ?, reason = ? WHERE id = ?",
                   [state, reason, patrol_id])  # fmt: skip
        _audit(tx, at, who, f"patrol:{patrol_id}", action, p["state"], state, {"reason": reason})
    return {"id": patrol_id, "state": state}


def patrols(
    store: Store, who: Who, *, section: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Patrols of the visible sections, newest first (without their tracks)."""
    scope = scope_sections(store, who)
    cond, args = "TRUE", []
    if section:
        cond, args = "p.section_id = ?", [section]
    rows = store.query(
        "SELECT p.id, p.section_id, s.name AS section_name, p.patroller_kind, p.username, "  # noqa: S608
        "p.state, p.started, p.ended, p.n_points, p.distance_m, p.duration_s, p.valid, p.note "
        f"FROM river_patrol p JOIN river_section s ON s.id = p.section_id WHERE {cond} "
        "ORDER BY p.started DESC, p.id",
        args,
    )
    out = []
    for r in rows:
        if scope is not None and r["section_id"] not in scope:
            continue
        r["started"] = r["started"].isoformat()
        r["ended"] = r["ended"].isoformat() if r["ended"] else None
        out.append(r)
    return out[:limit]


def patrol(store: Store, who: Who, patrol_id: str) -> dict[str, Any]:
    """One patrol with its track, photos and problems."""
    rows = store.query(f"SELECT {', '.join(_PATROL_COLS)} FROM river_patrol WHERE id = ?",  # noqa: S608
                       [patrol_id])  # fmt: skip
    if not rows:
        raise NotFoundError(f"patrol {patrol_id} does not exist")
    p = rows[0]
    _check_section(store, who, p["section_id"])
    p["points"] = json.loads(p["points"])
    p["started"] = p["started"].isoformat()
    p["ended"] = p["ended"].isoformat() if p["ended"] else None
    p["photos"] = store.query(
        "SELECT id, name, media_type, size, sha256 FROM river_photo WHERE patrol_id = ? "
        "ORDER BY uploaded_at, id",
        [patrol_id],
    )
    p["problems"] = problems(store, who, patrol=patrol_id)
    return p


# ---------------------------------------------------------------- problems
_PROBLEM_COLS = ("id", "patrol_id", "section_id", "category", "description", "lat", "lon",
                 "photos", "department", "severity", "state", "round", "alert_id", "task_id",
                 "recorded_by", "recorded_at", "updated")  # fmt: skip


def _problem(tx: Transaction, problem_id: str) -> dict[str, Any]:
    cols = ", ".join(_PROBLEM_COLS)
    found = tx.fetch(f"SELECT {cols} FROM river_problem WHERE id = ?", [problem_id])  # noqa: S608
    if not found:
        raise NotFoundError(f"problem {problem_id} does not exist")
    return dict(zip(_PROBLEM_COLS, found[0], strict=True))


def record_problem(
    store: Store, who: Who, patrol_id: str, category: str, description: str, *,
    lat: Any = None, lon: Any = None, photos: Sequence[str] = (), rules: Rules | None = None,
    now: dt.datetime | None = None, route: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """A problem found on an open patrol; routed to enforcement at once (*route*)."""
    r = rules or load_rules()
    at = _now(now)
    if category not in r.categories:
        raise InputError("category", "one of " + ", ".join(r.categories), category)
    cat = r.categories[category]
    description = _text(description, "description", r.max_text)
    where: list[float | None] = [None, None]
    if lat is not None or lon is not None:
        pt = trk.check_points([{"lat": lat, "lon": lon, "t": at.isoformat()}], [],
                              per_request=1, total=1)[0]  # fmt: skip
        where = [pt[0], pt[1]]
    if not isinstance(photos, list | tuple) or len(photos) > r.max_photos_per_patrol:
        raise InputError("photos", f"a list of at most {r.max_photos_per_patrol} photo ids",
                         repr(photos)[:100])  # fmt: skip
    with store.transaction() as tx:
        p = _own_patrol(tx, who, patrol_id)
        m.PATROL.step(p["state"], "problem", who.role)
        state = m.PROBLEM.step(None, "record", who.role)
        n = int(tx.fetch("SELECT COUNT(*) FROM river_problem WHERE patrol_id = ?",
                         [patrol_id])[0][0])  # fmt: skip
        if n >= r.max_problems_per_patrol:
            raise InputError("problems", f"at most {r.max_problems_per_patrol} on a patrol", n + 1)
        refs = []
        for fid in photos:
            f = tx.fetch("SELECT id, name, media_type, size, sha256 FROM river_photo "
                         "WHERE patrol_id = ? AND id = ?", [patrol_id, str(fid)])  # fmt: skip
            if not f:
                raise InputError("photos", f"ids of photos of patrol {patrol_id}", str(fid)[:64])
            refs.append(dict(zip(("id", "name", "media_type", "size", "sha256"), f[0],
                                 strict=True)))  # fmt: skip
        qid = "RQ-" + secrets.token_hex(6)
        tx.execute(
            f"INSERT INTO river_problem ({', '.join(_PROBLEM_COLS)}) "  # noqa: S608
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, NULL, NULL, ?, ?, ?)",
            [qid, patrol_id, p["section_id"], category, description, where[0], where[1],
             json.dumps(refs), cat.department, cat.severity, state, who.username, at, at],
        )  # fmt: skip
        _audit(tx, at, who, f"problem:{qid}", "record", None, state,
               {"patrol": patrol_id, "section": p["section_id"], "category": category,
                "department": cat.department, "severity": cat.severity,
                "photos": [f["sha256"] for f in refs]})  # fmt: skip
    if route:
        return route_problem(store, qid, now=at)
    return get_problem(store, who, qid)


def _alert_key(problem_id: str, round_: int) -> str:
    # enforcement's alert ids are 20 (findings) or 24 (water) hex digits: ours take 24, derived
    # from the problem and its round, so a retried routing raises no second alert
    return hashlib.sha256(f"river-problem\n{problem_id}\n{round_}".encode()).hexdigest()[:24]


def route_problem(
    store: Store, problem_id: str, who: Who = SYSTEM, *, now: dt.datetime | None = None,
    action: str = "route", reason: str = "",
) -> dict[str, Any]:  # fmt: skip
    """Hand a recorded problem (or a disputed resolved one) to the enforcement loop: an alert
    and a task (deadline by severity, enforcement policy), assigned to its department.

    Enforcement's own transactions raise and assign; this one then records the routing. A
    routing interrupted between them is finished by the next :func:`sync`: the alert's key is
    the problem's and round's, so the alert is found, not raised again.
    """
    at = _now(now)
    rows = store.query(
        f"SELECT {', '.join('q.' + c for c in _PROBLEM_COLS)}, s.region, s.name AS section_name "  # noqa: S608
        "FROM river_problem q JOIN river_section s ON s.id = q.section_id WHERE q.id = ?",
        [problem_id],
    )
    if not rows:
        raise NotFoundError(f"problem {problem_id} does not exist")
    q = rows[0]
    m.PROBLEM.step(q["state"], action, who.role)
    round_ = int(q["round"]) + (1 if action == "dispute" else 0)
    key = _alert_key(problem_id, round_)
    alert = AlertIn(
        key=key, rule_id=f"river.{q['category']}", severity=q["severity"],
        site_code=q["section_id"], pollutant=q["category"], start=q["recorded_at"], end=at,
        evidence={"problem": problem_id, "round": round_, "patrol": q["patrol_id"],
                  "section": q["section_id"], "section_name": q["section_name"],
                  "description": q["description"], "lat": q["lat"], "lon": q["lon"],
                  "photos": json.loads(q["photos"]), "recorded_by": q["recorded_by"],
                  "department": q["department"], "reason": reason},
        subject_kind=tk.RIVER_SECTION, region=q["region"], subject_name=q["section_name"],
    )  # fmt: skip
    opts = enf.LoopOptions(alert_min_severity="low", task_min_severity="low", auto_assign=False)
    _, opened = enf.raise_alerts(store, [alert], {q["section_id"]: q["region"]}, now=at,
                                 options=opts)  # fmt: skip
    if opened:
        task_id = opened[0].id
    else:
        found = store.query("SELECT task_id FROM enforcement_alert WHERE id = ?", [key])
        if not found or not found[0]["task_id"]:
            raise ConflictError(f"problem {problem_id}: enforcement alert {key} has no task")
        task_id = found[0]["task_id"]
    task, _ = enf.get_task(store, task_id)
    if not task.assignee:
        enf.transition(store, task_id, "assign", enf.SYSTEM, now=at,
                       assignee=f"dept:{q['department']}", kind="team")  # fmt: skip
    with store.transaction() as tx:
        cur = _problem(tx, problem_id)
        if cur["state"] != q["state"]:
            raise ConflictError(f"problem {problem_id} changed while it was routed")
        state = m.PROBLEM.step(cur["state"], action, who.role)
        tx.execute(
            "UPDATE river_problem SET state = ?, round = ?, alert_id = ?, task_id = ?, "
            "updated = ? WHERE id = ?",
            [state, round_, key, task_id, at, problem_id],
        )
        _audit(tx, at, who, f"problem:{problem_id}", action, cur["state"], state,
               {"alert": key, "task": task_id, "department": q["department"],
                "round": round_, "reason": reason})  # fmt: skip
    return get_problem(store, None, problem_id)


def get_problem(store: Store, who: Who | None, problem_id: str) -> dict[str, Any]:
    rows = problems(store, who, problem=problem_id)
    if not rows:
        raise NotFoundError(f"problem {problem_id} does not exist")
    return rows[0]


def problems(
    store: Store, who: Who | None, *, state: str | None = None, section: str | None = None,
    patrol: str | None = None, problem: str | None = None, open_only: bool = False,
    limit: int = 500,
) -> list[dict[str, Any]]:  # fmt: skip
    """Problems of the visible sections with their task's state and deadline, newest first.
    *who* ``None``: unscoped (the system's own reads)."""
    scope = scope_sections(store, who) if who is not None else None
    cond, args = ["TRUE"], []
    for col, val in (("q.state", state), ("q.section_id", section), ("q.patrol_id", patrol),
                     ("q.id", problem)):  # fmt: skip
        if val:
            cond.append(f"{col} = ?")
            args.append(val)
    if open_only:
        cond.append("q.state IN ('recorded', 'routed', 'resolved')")
    rows = store.query(
        f"SELECT {', '.join('q.' + c for c in _PROBLEM_COLS)}, s.name AS section_name, "  # noqa: S608
        "s.region, t.state AS task_state, t.deadline AS task_deadline, t.assignee "
        "FROM river_problem q JOIN river_section s ON s.id = q.section_id "
        "LEFT JOIN enforcement_task t ON t.id = q.task_id "
        f"WHERE {' AND '.join(cond)} ORDER BY q.recorded_at DESC, q.id",
        args,
    )
    out = []
    for r in rows:
        if scope is not None and r["section_id"] not in scope:
            continue
        r["photos"] = json.loads(r["photos"])
        for k in ("recorded_at", "updated", "task_deadline"):
            r[k] = r[k].isoformat() if r[k] else None
        out.append(r)
        if len(out) >= limit:
            break
    return out


def act_on_problem(
    store: Store, who: Who, problem_id: str, action: str, reason: str = "", *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``confirm`` a resolved problem (seen solved) or ``dispute`` it (not solved: a new task),
    by the section's chief (his sections or those under them) or an administrator;
    ``withdraw`` a problem still ``recorded`` (its patroller)."""
    if action not in ("confirm", "dispute", "withdraw"):
        raise InputError("action", "confirm, dispute or withdraw", action)
    at = _now(now)
    rows = store.query("SELECT section_id, recorded_by FROM river_problem WHERE id = ?",
                       [problem_id])  # fmt: skip
    if not rows:
        raise NotFoundError(f"problem {problem_id} does not exist")
    _check_section(store, who, rows[0]["section_id"])
    if action == "withdraw" and who.role != m.ADMIN and rows[0]["recorded_by"] != who.username:
        raise PermissionDenied(f"problem {problem_id} was recorded by another patroller")
    if action in ("dispute", "withdraw"):
        reason = _text(reason, "reason", 500)
    sync(store, now=at, only=problem_id)  # a task closed since: resolved first
    if action == "dispute":
        return route_problem(store, problem_id, who, now=at, action="dispute", reason=reason)
    with store.transaction() as tx:
        q = _problem(tx, problem_id)
        state = m.PROBLEM.step(q["state"], action, who.role)
        tx.execute("UPDATE river_problem SET state = ?, updated = ? WHERE id = ?",
                   [state, at, problem_id])  # fmt: skip
        _audit(tx, at, who, f"problem:{problem_id}", action, q["state"], state,
               {"reason": reason})  # fmt: skip
    return get_problem(store, None, problem_id)


def sync(
    store: Store, *, now: dt.datetime | None = None, only: str | None = None
) -> dict[str, int]:
    """Problems whose task is closed become ``resolved``; problems left ``recorded`` (a
    routing interrupted) are routed. The platform's refresh runs it every minute."""
    at = _now(now)
    got = {"resolved": 0, "routed": 0}
    cond, args = "", []
    if only:
        cond, args = " AND q.id = ?", [only]
    with store.transaction() as tx:
        done = tx.fetch(
            "SELECT q.id, q.task_id FROM river_problem q JOIN enforcement_task t "  # noqa: S608
            f"ON t.id = q.task_id WHERE q.state = 'routed' AND t.state = 'closed'{cond}",
            args,
        )
        for pid, task_id in done:
            state = m.PROBLEM.step("routed", "resolve", m.SYSTEM)
            tx.execute("UPDATE river_problem SET state = ?, updated = ? WHERE id = ?",
                       [state, at, pid])  # fmt: skip
            _audit(tx, at, SYSTEM, f"problem:{pid}", "resolve", "routed", state,
                   {"task": task_id})  # fmt: skip
            got["resolved"] += 1
    waiting = store.query(
        f"SELECT q.id FROM river_problem q WHERE q.state = 'recorded'{cond} ORDER BY q.id",  # noqa: S608
        args,
    )
    for r in waiting[:100]:
        route_problem(store, r["id"], now=at)
        got["routed"] += 1
    return got


# ---------------------------------------------------------------- views
def section_quality(store: Store, month: str, site_ids: Iterable[str]) -> dict[str, Any]:
    """The water engine's month assessment of the monitoring sites (GB 3838 class)."""
    from bishui.water.service import assess_cached

    wanted = set(site_ids)
    if not wanted:
        return {}
    result = assess_cached(store, month)
    return {
        s["section"]: {
            "site": s["section"],
            "name": s["name"],
            "class": s["class"],
            "label": s["label"],
            "status": s["status"],
            "target": s["target_label"],
            "attainment": s["attainment"],
            "main_pollutants": s["main_pollutants"],
        }
        for s in result.sections
        if s["section"] in wanted
    }


def last_month(today: dt.date) -> str:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return f"{first:%Y-%m}"


def coverage(
    store: Store, chief_id: str, today: dt.date, *, rules: Rules | None = None
) -> list[dict[str, Any]]:
    """Each active section of a chief: the patrol period containing *today* (by the section's
    level, rules ``patrol_interval``) and whether a valid patrol of his falls in it."""
    r = rules or load_rules()
    rows = store.query(
        "SELECT a.section_id, s.name, s.level FROM river_assignment a JOIN river_section s "
        "ON s.id = a.section_id WHERE a.chief_id = ? AND a.state = 'active' ORDER BY s.id",
        [chief_id],
    )
    out = []
    for a in rows:
        first, last = r.period(a["level"], today)
        got = store.query(
            "SELECT COUNT(*) AS n, MAX(p.started) AS latest FROM river_patrol p "
            "JOIN river_chief c ON c.username = p.username WHERE c.id = ? AND p.section_id = ? "
            "AND p.state = 'submitted' AND p.valid AND p.started >= ? AND p.started < ?",
            [chief_id, a["section_id"], dt.datetime.combine(first, dt.time()),
             dt.datetime.combine(last + dt.timedelta(days=1), dt.time())],
        )[0]  # fmt: skip
        out.append({
            "section": a["section_id"], "name": a["name"], "level": a["level"],
            "interval": r.interval[a["level"]], "first": first.isoformat(),
            "last": last.isoformat(), "patrols": int(got["n"]),
            "latest": got["latest"].isoformat() if got["latest"] else None,
            "covered": int(got["n"]) > 0,
        })  # fmt: skip
    return out


def chief_page(
    store: Store, who: Who, *, chief_id: str | None = None, today: dt.date | None = None,
    month: str | None = None, rules: Rules | None = None,
) -> dict[str, Any]:  # fmt: skip
    """What a chief's page shows: his sections (and those under them), their water quality
    from the water engine, open problems, patrol coverage, recent patrols. A chief sees his
    own; staff name any chief; a county official a chief of its sections."""
    r = rules or load_rules()
    day = today or now_beijing().date()
    mon = month or last_month(day)
    if who.role == m.CHIEF:
        own = chief_of(store, who.username)
        if chief_id and chief_id != own:
            raise NotFoundError(f"chief {chief_id} does not exist")
        chief_id = own
    if not chief_id:
        return {"chief": None, "sections": [], "problems": [], "coverage": [], "patrols": [],
                "month": mon, "rules": _rules_json(r)}  # fmt: skip
    found = store.query("SELECT id, name, level, post, synthetic FROM river_chief WHERE id = ?",
                        [chief_id])  # fmt: skip
    if not found:
        raise NotFoundError(f"chief {chief_id} does not exist")
    cov = coverage(store, chief_id, day, rules=r)
    scope = scope_sections(store, who)
    mine = {c["section"] for c in cov}
    if scope is not None and not mine <= scope:
        raise NotFoundError(f"chief {chief_id} does not exist")
    under = _with_descendants(_sections(store), mine)
    secs = [s for s in sections(store, who) if s["id"] in under]
    quality = section_quality(store, mon, [x for s in secs for x in s["sites"]])
    for s in secs:
        s["quality"] = [quality[x] for x in s["sites"] if x in quality]
    probs = [q for q in problems(store, who, open_only=True) if q["section_id"] in under]
    pats = [p for p in patrols(store, who, limit=500) if p["section_id"] in under][:20]
    covered = sum(1 for c in cov if c["covered"])
    return {
        "chief": found[0], "month": mon, "sections": secs, "problems": probs, "coverage": cov,
        "coverage_ratio": f"{covered}/{len(cov)}", "patrols": pats, "rules": _rules_json(r),
    }  # fmt: skip


def _rules_json(r: Rules) -> dict[str, Any]:
    cats = {
        c.code: {"zh": c.zh, "en": c.en, "department": c.department, "severity": c.severity}
        for c in r.categories.values()
    }
    return {
        "version": r.version,
        "interval": dict(r.interval),
        "interval_source": r.interval_source,
        "min_minutes": r.min_minutes,
        "min_metres": r.min_metres,
        "validity_source": r.validity_source,
        "categories": cats,
    }


def joint_groups(store: Store, who: Who) -> list[dict[str, Any]]:
    """The joint-control groups *who* may open: staff all; a county official those with its
    region among the members; a chief or volunteer those of a water body he works on."""
    rows = store.query("SELECT id, bodies, name, members, neighbours, shared, source "
                       "FROM river_joint ORDER BY id")  # fmt: skip
    for g in rows:
        for k in ("bodies", "members", "neighbours", "shared"):
            g[k] = json.loads(g[k])
    if who.role in STAFF:
        return rows
    if who.role == "county":
        return [g for g in rows if set(g["members"]) & set(who.regions)]
    if who.role in m.PATROLLERS:
        own = _own_sections(store, who)
        bodies = {s["body_id"] for s in _sections(store) if s["id"] in own}
        return [g for g in rows if set(g["bodies"]) & bodies]
    return []


def joint_view(
    store: Store, who: Who, group_id: str, *, month: str | None = None,
    today: dt.date | None = None, rules: Rules | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A joint-control group (联防联控): per member county, the sections of the group's water
    bodies with their water quality, open problems and the patrol coverage of their chiefs —
    shared with every member (the neighbouring county sees the other's data)."""
    r = rules or load_rules()
    day = today or now_beijing().date()
    mon = month or last_month(day)
    group = next((g for g in joint_groups(store, who) if g["id"] == group_id), None)
    if group is None:
        raise NotFoundError(f"joint-control group {group_id} does not exist")
    secs = [s for s in _sections(store) if s["body_id"] in group["bodies"]]
    quality = section_quality(store, mon, [x for s in secs for x in s["sites"]])
    open_by: dict[str, int] = {}
    for q in problems(store, None, open_only=True):
        open_by[q["section_id"]] = open_by.get(q["section_id"], 0) + 1
    chiefs_of: dict[str, list[str]] = {}
    for a in store.query("SELECT chief_id, section_id FROM river_assignment "
                         "WHERE state = 'active'"):  # fmt: skip
        chiefs_of.setdefault(a["section_id"], []).append(a["chief_id"])
    cov: dict[str, bool] = {}
    for cid in {c for cs in chiefs_of.values() for c in cs}:
        for c in coverage(store, cid, day, rules=r):
            cov[c["section"]] = cov.get(c["section"], False) or c["covered"]
    names = {x["code"]: x["name"] for x in store.query("SELECT code, name FROM regions")}
    members = []
    for region in group["members"]:
        rows = []
        for s in secs:
            if s["region"] != region:
                continue
            rows.append({
                "id": s["id"], "name": s["name"], "body": s["body_name"], "level": s["level"],
                "quality": [quality[x] for x in s["sites"] if x in quality],
                "open_problems": open_by.get(s["id"], 0),
                "covered": cov.get(s["id"]) if s["id"] in chiefs_of else None,
            })  # fmt: skip
        members.append({"region": region, "name": names.get(region, region), "sections": rows})
    return {**group, "month": mon, "member_data": members}
