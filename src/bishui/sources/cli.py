"""``bishui permits``, ``bishui sources`` and ``bishui tasks``: the enforcement loop at the shell.

::

    bishui permits import permits.xlsx|permits.csv      # every version, validated together
    bishui permits export out.xlsx|out.csv [--history]
    bishui permits list [--on 2026-07-01] [--history]
    bishui permits show 91420802…001P
    bishui sources check --period 2026-11|2026-11-20 [--out findings.xlsx] [--no-alerts]
    bishui tasks list [--state open]
    bishui tasks show T20261122-0001
    bishui tasks assign T… --to team:420802 [--team] | visit T… --note … [--file photo.jpg] |
                 evidence T… photo.jpg report.pdf [--note …] |
                 dispose T… --kind rectification_order --due 2026-12-31 |
                 close T… | reopen T… --reason …

Every command takes ``--db URL`` (``BISHUI_DB``). Task commands act as ``--as NAME`` with
``--role supervisor|inspector`` (default: the supervisor); a refused transition prints the
reason and exits with status 2.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import click

from bishui.core_cli import db_option
from bishui.errors import InputError
from bishui.store import Store, open_store

RULE_NAMES = {
    "EXC": "浓度超标", "CAP": "超许可排放量", "NOPERMIT": "无证排污", "FLAT": "数据恒值",
    "STUCK": "贴限值", "ZFLOW": "零流量有浓度", "ZCONC": "有流量零浓度", "DILUTE": "稀释排放",
    "CALSHARE": "校准维护占比异常", "TWIN": "曲线雷同", "GAPX": "超标前断数", "RANGE": "超量程",
}  # fmt: skip


def _open(db_url: str) -> Store:
    return open_store(db_url)


def _write(out: Path, sheets: list[tuple[str, tuple[list[str], list[list[Any]]]]]) -> None:
    from bishui.water.report import write

    for p in write(out, sheets):
        click.echo(f"wrote {p}", err=True)


# ------------------------------------------------------------------------------ permits
@click.group()
def permits() -> None:
    """Discharge permits (排污许可证): import, export, list, show — every version kept."""


@permits.command("import")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", default="cli", show_default=True, help="recorded as the importer")
def permits_import(db_url: str, path: Path, by: str) -> None:
    """Import permit versions from CSV or Excel (permits_io.COLUMNS)."""
    from bishui.sources import permits_io
    from bishui.sources.permit_store import record_permits

    items = (
        permits_io.read_xlsx(path) if path.suffix.lower() == ".xlsx" else permits_io.read_csv(path)
    )
    store = _open(db_url)
    try:
        counts = record_permits(store, items, by=by)
    finally:
        store.close()
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


@permits.command("export")
@db_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def permits_export(db_url: str, path: Path) -> None:
    """Write every stored version (current revision) to CSV or Excel."""
    from bishui.sources import permits_io
    from bishui.sources.permit_store import load_permits

    store = _open(db_url)
    try:
        items = load_permits(store)
    finally:
        store.close()
    if path.suffix.lower() == ".xlsx":
        permits_io.write_xlsx(items, path)
    else:
        permits_io.write_csv(items, path)
    click.echo(f"wrote {path} ({len(items)} versions)", err=True)


@permits.command("list")
@db_option
@click.option("--on", "on_text", help="date the version is in force (default today)")
@click.option("--history", is_flag=True, help="every version")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="x.xlsx | x.csv")
def permits_list(db_url: str, on_text: str | None, history: bool, out: Path | None) -> None:
    """Permits: number, version, enterprise, class, validity, outlets, quantities."""
    from bishui.sources.permit_store import list_permits

    on = _date(on_text, "on") if on_text else None
    store = _open(db_url)
    try:
        _, rows = list_permits(store, history=history, on=on, limit=100_000)
    finally:
        store.close()
    headers = ["许可证编号", "版本", "单位名称", "管理类别", "有效期起", "有效期止", "排放口",
               "许可排放量(t/a)", "现行"]  # fmt: skip
    table = [
        [r["permit_no"], r["version"], r["enterprise"], r["management_class"], r["valid_from"],
         r["valid_to"], " ".join(o["outlet_id"] for o in r["outlets"]),
         "; ".join(f"{k} {v}" for k, v in r["annual_caps_t"].items()),
         "是" if r["in_force"] else "否"]
        for r in rows
    ]  # fmt: skip
    from bishui.water.report import render

    click.echo(render(f"排污许可证 ({len(table)})", (headers, table)))
    if out:
        _write(out, [("排污许可证", (headers, table))])


@permits.command("show")
@db_option
@click.argument("permit_no")
def permits_show(db_url: str, permit_no: str) -> None:
    """Every version and revision of one permit, as JSON."""
    from bishui.sources.permit_store import permit_history

    store = _open(db_url)
    try:
        rows = permit_history(store, permit_no)
    finally:
        store.close()
    click.echo(json.dumps(rows, ensure_ascii=False, indent=1, default=str))


def _date(text: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(field, "an ISO date YYYY-MM-DD", text) from None


# ------------------------------------------------------------------------------ checks
@click.group()
def sources() -> None:
    """Pollution-source checks: exceedance, quantity, no permit, data-fraud signatures."""


@sources.command("check")
@db_option
@click.option("--period", required=True, help="2026, 2026-11 or 2026-11-20")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="x.xlsx | x.csv")
@click.option("--no-alerts", is_flag=True, help="store findings only; raise no alerts/tasks")
@click.option("--all", "show_all", is_flag=True, help="print every finding of the period")
def sources_check(
    db_url: str, period: str, out: Path | None, no_alerts: bool, show_all: bool
) -> None:
    """Run the checks over a period, store findings, raise alerts and tasks, print findings."""
    from bishui.enforcement.notify import LoggingSender
    from bishui.sources import service
    from bishui.water.report import render

    start, end = service.parse_period(period)
    store = _open(db_url)
    try:
        r = service.run_checks(
            store, start, end, options=service.CheckOptions(raise_alerts=not no_alerts),
            sender=LoggingSender(),
        )  # fmt: skip
    finally:
        store.close()
    shown = r.findings if show_all else r.new
    headers = ["规则", "规则名称", "严重程度", "站点编码", "排放口", "污染物", "开始", "结束",
               "许可证版本", "说明", "规则版本", "编号"]  # fmt: skip
    table = [
        [f.rule_id, RULE_NAMES.get(f.rule_id, ""), f.severity, f.outlet.site_code,
         f.outlet.outlet_id, f.pollutant, f"{f.start:%Y-%m-%d %H:%M}", f"{f.end:%Y-%m-%d %H:%M}",
         f"{f.permit_no} v{f.permit_version}" if f.permit_no else "",
         _measured(f.measured), f.rule_version, f.key]
        for f in sorted(shown, key=lambda f: (f.start, f.outlet, f.rule_id))
    ]  # fmt: skip
    title = f"{period} 污染源核查{'全部' if show_all else '新增'}问题 ({len(table)})"
    click.echo(render(title, (headers, table)))
    click.echo(
        f"\n{r.outlets} outlets ({r.resolution['hour']} hourly, {r.resolution['min']} minute); "
        f"{len(r.findings)} findings, {len(r.new)} new events, {r.merged} merged into stored "
        f"events; {r.alerts} alerts; tasks: {', '.join(r.tasks) or 'none'}; rules "
        f"{r.ruleset_version}"
    )
    if out:
        _write(out, [("污染源核查问题", (headers, table))])


def _measured(m: Any) -> str:
    keys = ("peak", "limit", "multiple", "periods", "days", "reason", "share", "total_t", "cap_t",
            "level", "twins", "max_day_share")  # fmt: skip
    parts = []
    for k in keys:
        if k in m and m[k] is not None:
            v = m[k]
            parts.append(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}")
    return " ".join(parts)


# ------------------------------------------------------------------------------ tasks
@click.group()
def tasks() -> None:
    """Enforcement tasks: list, show, and the transitions (every change in the audit log)."""


@tasks.command("list")
@db_option
@click.option("--state", type=click.Choice(["open", "assigned", "in_progress", "disposed",
                                            "closed"]))  # fmt: skip
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="x.xlsx | x.csv")
def tasks_list(db_url: str, state: str | None, out: Path | None) -> None:
    """Tasks, newest first."""
    from bishui.enforcement import service as enf
    from bishui.water.report import render

    store = _open(db_url)
    try:
        _, rows = enf.list_tasks(store, state=state, limit=100_000)
    finally:
        store.close()
    headers = ["任务编号", "状态", "严重程度", "单位", "站点编码", "承办", "期限", "标题"]
    # A drinking-water source task has no enterprise: say what it is about instead.
    table = [[t["id"], t["state"], t["severity"],
              t["uscc"] if t.get("subject_kind", "outlet") == "outlet" else "饮用水水源地",
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
    f = click.option("--role", type=click.Choice(["supervisor", "inspector"]),
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
