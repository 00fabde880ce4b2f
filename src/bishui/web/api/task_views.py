"""What each role sees of an enforcement task: staff and counties all of it, an enterprise the
declared subset of its own tasks.

The enterprise is a party to the case (当事人), not a member of the team working it. What it
is entitled to, and what it needs to comply, is what the law has the authority serve on it or
tell it; the working file of the inspectors is not (docs/web.md, "What an enterprise sees of
its tasks"):

* the task itself: its id, subject, severity, title, when it was opened, its deadline and
  state, the alerts behind it (its own monitoring data, which it can see anyway);
* what it must rectify: a rectification order (责令改正, 行政处罚法 2021 Art. 28) once made —
  kind, due date and the requirement — since an order can only be complied with once the
  party has it (the bureau serves it as a 责令改正决定书);
* its own submissions (submit_rectification: its files and notes) and whether they were
  accepted;
* the closure (the ``close`` event, or the ``approve`` that closes the task where the policy
  has the closure approved — the request itself is internal): the disposal as decided (a
  penalty's article and amount — the decision is served on the party, 行政处罚法 2021
  Arts. 59, 61), once the task is closed. Before a penalty is
  decided the party is told the facts, reasons, basis and the proposed penalty by a formal
  notice (Art. 44) and may state its case and ask for a hearing (Arts. 45, 63-65); the
  platform does not issue that notice (it is served on paper), and an inspector's disposal
  before closure is a draft, so it is not shown;
* notifications addressed to it (``enterprise:<uscc>``), and the files it uploaded.

Hidden: the inspectors' names (assignee, ``by``, the audit actors other than its own),
visit notes and the inspectors' evidence files (the working file: the law has the party told
the facts, reasons and basis of a penalty through the Art. 44 notice and heard on them,
Arts. 45, 63-65; it does not hand the party the investigators' working notes and photos),
internal notifications, the escalation level, the suggested article, reopening and its reason,
and the audit hashes (a hash of a hidden payload would let a short hidden value — an amount —
be guessed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bishui.enforcement import service as enf
from bishui.enforcement import tasks as tk
from bishui.errors import NotFoundError
from bishui.store import Store
from bishui.web.auth import Principal

#: Task fields an enterprise sees as they are.
ENTERPRISE_TASK_FIELDS = (
    "id", "alert_ids", "uscc", "site_code", "severity", "title", "created", "deadline", "state",
    "rectification_verified", "closed_at", "subject_kind",
)  # fmt: skip
#: Fields of a disposal an enterprise sees (when it sees the disposal at all).
ENTERPRISE_DISPOSAL_FIELDS = ("kind", "due", "requirement", "article", "amount", "reason", "at")
#: Fields of its own rectification submissions.
ENTERPRISE_RECTIFICATION_FIELDS = ("files", "note", "by", "at")
#: Audit actions an enterprise sees on its task (others' uploads, visits, evidence,
#: assignment, escalation and reopening are the working file).
ENTERPRISE_EVENTS = frozenset({"create", "dispose", "submit_rectification",
                               "verify_rectification", "close", "upload"})  # fmt: skip
#: What an enterprise may do on its task (``tasks.PERMISSIONS``).
ENTERPRISE_ACTIONS = tuple(
    str(a) for a, roles in tk.PERMISSIONS.items() if tk.Role.ENTERPRISE in roles
)


def is_enterprise(p: Principal) -> bool:
    return p.role == "enterprise"


def disposal_visible(task: Mapping[str, Any]) -> bool:
    """A rectification order as soon as made (it must be served to be complied with); any
    other disposal only as the decision at closure."""
    d = task.get("disposal")
    if not d:
        return False
    return d.get("kind") == str(tk.Disposal.RECTIFICATION_ORDER) or task.get("state") == "closed"


def task_view(task: tk.Task | Mapping[str, Any], p: Principal) -> dict[str, Any]:
    """The task as *p* may see it (``Task.as_dict`` form)."""
    d = task.as_dict() if isinstance(task, tk.Task) else dict(task)
    # Offered only what the state and the caller's role allow (the same tables apply() uses).
    d["allowed_actions"] = [
        str(a)
        for a in tk.allowed_for(
            tk.State(d["state"]),
            enf.TASK_ROLES.get(p.role),
            d.get("subject_kind") or tk.OUTLET,
        )
    ]
    if not is_enterprise(p):
        return d
    out = {k: d.get(k) for k in ENTERPRISE_TASK_FIELDS}
    if "region" in d:
        out["region"] = d["region"]
    disposal = d.get("disposal")
    out["disposal"] = (
        {k: disposal[k] for k in ENTERPRISE_DISPOSAL_FIELDS if k in disposal}
        if disposal and disposal_visible(d)
        else None
    )
    out["rectifications"] = [
        {k: r[k] for k in ENTERPRISE_RECTIFICATION_FIELDS if k in r}
        for r in d.get("rectifications") or ()
    ]
    out["allowed_actions"] = [a for a in d.get("allowed_actions", ()) if a in ENTERPRISE_ACTIONS]
    return out


def events_view(
    events: Iterable[Mapping[str, Any]], task: Mapping[str, Any], p: Principal
) -> list[dict[str, Any]]:
    """Audit events as *p* may see them (the API's event dicts)."""
    if not is_enterprise(p):
        return [dict(e) for e in events]
    events = list(events)
    # a disposal sent back by the approver (reject) was never a decision: never shown
    rejected, pending = set(), None
    for e in events:
        if e["action"] == "dispose":
            pending = e["seq"]
        elif e["action"] == "reject" and e["from"] == "awaiting_approval" and pending is not None:
            rejected.add(pending)
    out = []
    for e in events:
        own = e["role"] == str(tk.Role.ENTERPRISE)
        action = e["action"]
        closing = e["to"] == str(tk.State.CLOSED)
        if action not in ENTERPRISE_EVENTS and not closing:
            continue  # (the approval that closes a task is the closure the party is told of)
        if action == "upload" and not own:
            continue
        if action == "close" and not closing:
            continue  # a request for the closure approval (结案审批): internal until approved
        if e["seq"] in rejected:
            continue
        payload: dict[str, Any] = {}
        if own:
            payload = dict(e["payload"])
        elif action == "create":
            payload = {k: e["payload"][k] for k in ("title", "deadline", "severity", "site_code")
                       if k in e["payload"]}  # fmt: skip
        elif action == "dispose":
            kind = e["payload"].get("kind")
            if kind != str(tk.Disposal.RECTIFICATION_ORDER) and task.get("state") != "closed":
                continue  # a draft until the task is closed
            payload = {k: e["payload"][k] for k in ENTERPRISE_DISPOSAL_FIELDS
                       if k in e["payload"]}  # fmt: skip
        elif action == "verify_rectification":
            payload = {"accepted": e["payload"].get("accepted", True)}
        out.append({"seq": e["seq"], "time": e["time"], "actor": e["actor"] if own else None,
                    "role": e["role"], "action": action, "from": e["from"], "to": e["to"],
                    "payload": payload})  # fmt: skip
    return out


def notifications_view(notes: Iterable[Mapping[str, Any]], p: Principal) -> list[dict[str, Any]]:
    if not is_enterprise(p):
        return [dict(n) for n in notes]
    mine = f"enterprise:{p.enterprise}"
    return [
        {k: n[k] for k in ("event_seq", "task_id", "recipient", "subject", "body", "sent_at")}
        for n in notes
        if n.get("recipient") == mine
    ]


def file_visible(rec: Any, p: Principal) -> bool:
    """An enterprise sees the files it uploaded; the inspectors' evidence is their working
    file (see the module doc)."""
    return not is_enterprise(p) or rec.uploader_role == str(tk.Role.ENTERPRISE)


# ------------------------------------------------------------------------------ scopes
# Which stored rows a caller sees (the sources and evidence routers share them).
def scope(
    p: Principal, region_col: str = "region", uscc_col: str = "uscc"
) -> tuple[str, list[Any]]:
    """SQL condition on stored rows for the caller (staff: everything)."""
    if p.role == "county":
        marks = ", ".join("?" for _ in p.regions) or "NULL"
        return f"{region_col} IN ({marks})", list(p.regions)
    if p.role == "enterprise":
        return f"{uscc_col} = ?", [p.enterprise or ""]
    return "TRUE", []


def enforcement_scope(p: Principal) -> tuple[str, list[Any]]:
    """:func:`scope` on alert and task rows: an enterprise's are its outlets' only. (A
    water-source row's ``uscc`` is NULL, which ``uscc = ?`` never matches; the subject test
    says so outright.)"""
    where, params = scope(p)
    if p.role == "enterprise":
        where = f"subject_kind = 'outlet' AND {where}"
    return where, params


def task_scope(p: Principal) -> tuple[str, list[Any]]:
    if p.role == "inspector":
        # Accounts carry no team membership: every inspector is on the city brigade's
        # regional teams, so sees team tasks and unassigned ones, plus those assigned to them.
        return "(assignee = ? OR assignee_kind = 'team' OR assignee IS NULL)", [p.username]
    return enforcement_scope(p)


def visible_task(store: Store, p: Principal, task_id: str) -> tk.Task:
    """Task *task_id* if the caller may see it (404 otherwise, whether or not it exists)."""
    where, params = task_scope(p)
    total, _ = enf.list_tasks(store, f"{where} AND id = ?", [*params, task_id], limit=1)
    if not total:
        raise NotFoundError(f"task {task_id} does not exist")
    return enf.get_task(store, task_id)[0]
