"""``bishui tasks``: the enforcement loop at the shell.

::

    bishui tasks list [--state open]
    bishui tasks show T20261122-0001
    bishui tasks assign T… --to team:420802 [--team] | visit T… --note … [--file photo.jpg] |
                 evidence T… photo.jpg report.pdf [--note …] |
                 dispose T… --kind rectification_order --due 2026-12-31 |
                 close T… | reopen T… --reason …
    bishui tasks verify
    bishui tasks dismiss-alert <alert id> --reason …

Every command takes ``--db URL`` (``BISHUI_DB``). Task commands act as ``--as NAME`` with
``--role supervisor|inspector`` (default: the supervisor); a refused transition prints the
reason and exits with status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bishui.cli_options import db_option, render, write_and_say
from bishui.errors import InputError
from bishui.store import Store, open_store


def _open(db_url: str) -> Store:
    return open_store(db_url)


def _write(out: Path, sheets: list[tuple[str, tuple[list[str], list[list[Any]]]]]) -> None:
    write_and_say(out, sheets)


@click.group()
def tasks() -> None:
    """Enforcement tasks: list, show, and the transitions (every change in the audit log)."""


@tasks.command("list")
@db_option
@click.option("--state", type=click.Choice(
    ["open", "assigned", "in_progress", "awaiting_approval", "disposed",
     "awaiting_closure", "closed"]))  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="x.xlsx | x.csv")
def tasks_list(db_url: str, state: str | None, out: Path | None) -> None:
    """Tasks, newest first."""
    from bishui.enforcement import service as enf

    store = _open(db_url)
    try:
        _, rows = enf.list_tasks(store, state=state, limit=100_000)
    finally:
        store.close()
    headers = ["任务编号", "状态", "严重程度", "单位", "站点编码", "承办", "期限", "标题"]
    # A drinking-water source task has no enterprise: say what it is about instead.
    table = [[t["id"], t["state"], t["severity"],
              t["uscc"] if t.get("subject_kind", "outlet") == "outlet"
              else "河湖责任河段" if t.get("subject_kind") == "river_section" else "饮用水水源地",
              t["site_code"], t["assignee"], t["deadline"], t["title"]] for t in rows]  # fmt: skip
    click.echo(render(f"执法任务 ({len(table)})", (headers, table)))
    if out:
        _write(out, [("执法任务", (headers, table))])


@tasks.command("show")
@db_option
@click.argument("task_id")
def tasks_show(db_url: str, task_id: str) -> None:
    """One task, its evidence files, audit events and notifications, as JSON."""
    from bishui.enforcement import evidence
    from bishui.enforcement import service as enf

    store = _open(db_url)
    try:
        task, region = enf.get_task(store, task_id)
        events = enf.audit_events(store, task.subject)
        notes = enf.notifications(store, task_id)
        files = evidence.list_files(store, task_id)
    finally:
        store.close()
    doc = {
        "task": {**task.as_dict(), "region": region},
        "files": [f.as_dict() for f in files],
        "events": [{"seq": e.seq, "time": e.time.isoformat(), "actor": e.actor, "role": e.role,
                    "action": e.action, "from": e.from_state, "to": e.to_state,
                    "payload": dict(e.payload), "hash": e.hash} for e in events],
        "notifications": notes,
    }  # fmt: skip
    click.echo(json.dumps(doc, ensure_ascii=False, indent=1, default=str))


_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _actor_options(f: Any) -> Any:
    f = db_option(f)
    f = click.option("--as", "actor", default="supervisor", show_default=True,
                     help="who acts (recorded in the audit log)")(f)  # fmt: skip
    f = click.option("--role", type=click.Choice(["supervisor", "inspector", "chief"]),
                     default="supervisor", show_default=True)(f)  # fmt: skip
    return f


def _act(
    db_url: str, task_id: str, action: str, actor: str, role: str, *,
    paths: tuple[Path, ...] = (), **payload: Any,
) -> None:  # fmt: skip
    """Take *action*; files at *paths* are uploaded first and cited by id as ``files``."""
    from bishui.enforcement import service as enf
    from bishui.enforcement import tasks as tk
    from bishui.enforcement.notify import LoggingSender

    who = tk.Actor(actor, tk.Role(role))
    store = _open(db_url)
    try:
        if paths:
            payload["files"] = [_upload(store, task_id, p, who) for p in paths]
        t, ev = enf.transition(store, task_id, action, who, sender=LoggingSender(), **payload)
    finally:
        store.close()
    click.echo(f"{t.id}: {ev.action} {ev.from_state} → {ev.to_state} (audit #{ev.seq})")


def _upload(store: Store, task_id: str, path: Path, who: Any) -> str:
    """Store the file at *path* as evidence of the task (type from its extension); its id."""
    from bishui.enforcement import evidence
    from bishui.errors import TooLarge

    media_type = evidence.EXTENSIONS.get(path.suffix.lower())
    if media_type is None:
        raise InputError("file", "one of " + ", ".join(sorted(evidence.EXTENSIONS)), path.name)
    size = path.stat().st_size
    if size > evidence.MAX_BYTES:  # refused before the file is read
        raise TooLarge("file", f"at most {evidence.MAX_BYTES} bytes", size)
    rec, created = evidence.store_file(store, task_id, path.name, media_type, path.read_bytes(),
                                       who)  # fmt: skip
    state = "stored" if created else "already stored"
    click.echo(f"{rec.name}: {state} as {rec.id} ({rec.size} bytes, sha256 {rec.sha256})")
    return rec.id


@tasks.command("assign")
@_actor_options
@click.argument("task_id")
@click.option("--to", "assignee", required=True, help="inspector user name, or team:<region>")
@click.option("--team", is_flag=True, help="the assignee is a team")
def tasks_assign(db_url: str, actor: str, role: str, task_id: str, assignee: str,
                 team: bool) -> None:  # fmt: skip
    """Assign (or reassign) a task."""
    _act(db_url, task_id, "assign", actor, role, assignee=assignee,
         kind="team" if team or assignee.startswith("team:") else "inspector")  # fmt: skip


@tasks.command("visit")
@_actor_options
@click.argument("task_id")
@click.option("--note", required=True, help="what the site visit found")
@click.option("--file", "files", multiple=True, type=_FILE,
              help="evidence file (photo, PDF, MP4) uploaded and cited by the visit")  # fmt: skip
def tasks_visit(db_url: str, actor: str, role: str, task_id: str, note: str,
                files: tuple[Path, ...]) -> None:  # fmt: skip
    """Record a site visit."""
    _act(db_url, task_id, "visit", actor, role, paths=files, note=note)


@tasks.command("evidence")
@_actor_options
@click.argument("task_id")
@click.argument("files", nargs=-1, required=True, type=_FILE)
@click.option("--note", help="what the files show")
def tasks_evidence(db_url: str, actor: str, role: str, task_id: str, files: tuple[Path, ...],
                   note: str | None) -> None:  # fmt: skip
    """Upload evidence files (JPEG, PNG, WebP, PDF, MP4; ≤ 10 MiB each) and record them."""
    extra: dict[str, Any] = {"note": note} if note else {}
    _act(db_url, task_id, "add_evidence", actor, role, paths=files, **extra)


@tasks.command("dispose")
@_actor_options
@click.argument("task_id")
@click.option("--kind", required=True,
              type=click.Choice(["rectification_order", "penalty", "false_alarm"]))  # fmt: skip
@click.option("--due", help="rectification due date (YYYY-MM-DD)")
@click.option("--article", help="regulation article of a penalty (as in the policy)")
@click.option("--amount", help="penalty amount [yuan]")
@click.option("--reason", help="why a false alarm")
def tasks_dispose(db_url: str, actor: str, role: str, task_id: str, kind: str, due: str | None,
                  article: str | None, amount: str | None, reason: str | None) -> None:  # fmt: skip
    """Record the disposal: rectification order, penalty, or dismissal as a false alarm."""
    given = (("due", due), ("article", article), ("amount", amount), ("reason", reason))
    payload: dict[str, Any] = {k: v for k, v in given if v is not None}
    _act(db_url, task_id, "dispose", actor, role, kind=kind, **payload)


@tasks.command("close")
@_actor_options
@click.argument("task_id")
def tasks_close(db_url: str, actor: str, role: str, task_id: str) -> None:
    """Close a disposed task."""
    _act(db_url, task_id, "close", actor, role)


@tasks.command("reopen")
@_actor_options
@click.argument("task_id")
@click.option("--reason", default="", help="why (required)")
def tasks_reopen(db_url: str, actor: str, role: str, task_id: str, reason: str) -> None:
    """Reopen a closed task (supervisor; a reason is required)."""
    _act(db_url, task_id, "reopen", actor, role, reason=reason)


@tasks.command("approve")
@_actor_options
@click.argument("task_id")
@click.option("--note", help="the approver's opinion (recorded)")
def tasks_approve(db_url: str, actor: str, role: str, task_id: str, note: str | None) -> None:
    """Approve a disposal awaiting approval (an approver role of the policy, e.g. --role chief;
    not the user who disposed)."""
    extra: dict[str, Any] = {"note": note} if note else {}
    _act(db_url, task_id, "approve", actor, role, **extra)


@tasks.command("reject")
@_actor_options
@click.argument("task_id")
@click.option("--reason", default="", help="why the disposal goes back (required)")
def tasks_reject(db_url: str, actor: str, role: str, task_id: str, reason: str) -> None:
    """Send a disposal awaiting approval back to the inspector (the task is in progress again)."""
    _act(db_url, task_id, "reject", actor, role, reason=reason)


@tasks.command("check-in")
@_actor_options
@click.argument("task_id")
@click.option("--lat", type=float, required=True, help="latitude [°, WGS 84]")
@click.option("--lon", type=float, required=True, help="longitude [°, WGS 84]")
@click.option("--accuracy", type=float, help="radius of the fix [m]")
def tasks_check_in(db_url: str, actor: str, role: str, task_id: str, lat: float, lon: float,
                   accuracy: float | None) -> None:  # fmt: skip
    """Record a check-in at the enterprise (the distance from its registered location is
    added)."""
    extra: dict[str, Any] = {"accuracy": accuracy} if accuracy is not None else {}
    _act(db_url, task_id, "check_in", actor, role, lat=lat, lon=lon, **extra)


@tasks.command("verify")
@db_option
def tasks_verify(db_url: str) -> None:
    """Check the whole audit chain and that every task snapshot replays from its log."""
    from bishui.enforcement import service as enf

    store = _open(db_url)
    try:
        n = enf.verify_audit(store)
        _, rows = enf.list_tasks(store, limit=1_000_000)
        bad = [t["id"] for t in rows
               if enf.replay_task(store, t["id"]).as_dict()
               != enf.task_from_dict(t).as_dict()]  # fmt: skip
    finally:
        store.close()
    if bad:
        raise InputError("tasks", "snapshot differs from its replayed log", ", ".join(bad))
    click.echo(f"audit chain of {n} events verifies; {len(rows)} task snapshots replay")


@tasks.command("dismiss-alert")
@_actor_options
@click.argument("alert_id")
@click.option("--reason", required=True, help="why no task is needed (recorded)")
def tasks_dismiss_alert(db_url: str, actor: str, role: str, alert_id: str, reason: str) -> None:
    """Dismiss a new alert without opening a task (audited, with its reason)."""
    from bishui.enforcement import service as enf
    from bishui.enforcement import tasks as tk

    store = _open(db_url)
    try:
        r = enf.dismiss_alert(store, alert_id, tk.Actor(actor, tk.Role(role)), reason)
    finally:
        store.close()
    click.echo(f"alert {r['id']}: {r['state']}")
