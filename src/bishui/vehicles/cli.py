"""``bishui vehicles``: inspection-station supervision from the command line (docs/vehicles.md).

Load a simulated day, import uploads, run the analysis, show the risk ranking and findings,
manage the report-signing keys, issue and verify report codes, and the old-vehicle register.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import click

from bishui.cli_options import db_option, render
from bishui.errors import InputError
from bishui.store import Store, open_store
from bishui.vehicles import oldvehicles, reportcode, service
from bishui.vehicles.rules import RULES


def _store(db_url: str) -> Store:
    return open_store(db_url)


def _date(v: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(v)
    except ValueError:
        raise InputError(field, "YYYY-MM-DD", v) from None


@click.group()
def vehicles() -> None:
    """机动车排放检验监管: records, black box, anti-fraud rules, report codes, old vehicles."""


@vehicles.command("simulate")
@db_option
@click.option("--day", default="2026-11-02", show_default=True, help="the day simulated")
@click.option("--stations", type=click.IntRange(1, 200), default=10, show_default=True)
@click.option("--tests-per-lane", type=click.IntRange(1, 200), default=20, show_default=True)
@click.option("--fraud", "frauds", multiple=True, help="FRAUD=SHARE at station S01, e.g. clone=0.1")
@click.option("--seed", type=int, default=7, show_default=True)
def simulate_cmd(
    db_url: str, day: str, stations: int, tests_per_lane: int, frauds: tuple[str, ...], seed: int
) -> None:
    """Simulate stations, lanes and black boxes for a day and load both channels."""
    from bishui.vehicles.simulate import FRAUDS, SimConfig, simulate

    shares: dict[str, float] = {}
    for f in frauds:
        name, _, share = f.partition("=")
        if name not in FRAUDS:
            raise InputError("--fraud", f"one of {', '.join(FRAUDS)}", name)
        try:
            shares[name] = float(share or "0.1")
        except ValueError:
            raise InputError("--fraud", "FRAUD=SHARE", f) from None
    cfg = SimConfig(
        stations=stations,
        tests_per_lane=tests_per_lane,
        day=_date(day, "--day"),
        seed=seed,
        frauds=shares,
    )
    store = _store(db_url)
    try:
        counts = service.load_simulation(store, simulate(cfg), "cli")
    finally:
        store.close()
    click.echo(json.dumps(counts, ensure_ascii=False))


@vehicles.command("import")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_cmd(db_url: str, path: Path) -> None:
    """Import a JSON-lines file of inspection records and black-box captures (all or none)."""
    if path.stat().st_size > 200_000_000:
        raise InputError("path", "at most 200 MB", path.stat().st_size)
    store = _store(db_url)
    try:
        counts = service.import_jsonl(store, path.read_text(encoding="utf-8"), "cli")
    finally:
        store.close()
    click.echo(json.dumps(counts))


@vehicles.command("selfchecks")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def selfchecks_cmd(db_url: str, path: Path) -> None:
    """Record a JSON-lines file of daily equipment self-checks (coast-down, leak check,
    opacimeter zero; all or none)."""
    if path.stat().st_size > 20_000_000:
        raise InputError("path", "at most 20 MB", path.stat().st_size)
    store = _store(db_url)
    try:
        counts = service.import_selfchecks(store, path.read_text(encoding="utf-8"), "cli")
    finally:
        store.close()
    click.echo(json.dumps(counts))


@vehicles.command("analyse")
@db_option
@click.option("--from", "first", required=True, help="first day YYYY-MM-DD")
@click.option("--to", "last", required=True, help="last day YYYY-MM-DD")
@click.option("--alerts/--no-alerts", default=False, help="hand high findings to enforcement")
def analyse_cmd(db_url: str, first: str, last: str, alerts: bool) -> None:
    """Run every rule over the tests of the period and store the findings."""
    a, b = _date(first, "--from"), _date(last, "--to")
    store = _store(db_url)
    try:
        found = service.analyse(store, a, b, "cli")
        routed = service.route_alerts(store, found) if alerts else 0
    finally:
        store.close()
    by: dict[str, int] = {}
    for f in found:
        by[f.rule_id] = by.get(f.rule_id, 0) + 1
    rows = [[RULES[r][0], r, n] for r, n in sorted(by.items())]
    click.echo(
        render(f"发现 {len(found)} 条 / 移交执法 {routed} 条", (["规则", "代码", "条数"], rows))
    )


@vehicles.command("ranking")
@db_option
@click.option("--from", "first", required=True)
@click.option("--to", "last", required=True)
def ranking_cmd(db_url: str, first: str, last: str) -> None:
    """The station risk ranking over the period's findings."""
    store = _store(db_url)
    try:
        ranked = service.ranking(store, _date(first, "--from"), _date(last, "--to"))
        names = {s.code: s.name for s in service.stations(store).values()}
    finally:
        store.close()
    rows = [
        [
            r["rank"],
            names.get(str(r["station"]), r["station"]),
            r["tests"],
            r["score"],
            ", ".join(f"{RULES.get(k, (k,))[0]} {v}" for k, v in dict(r["by_rule"]).items()),
        ]
        for r in ranked
    ]
    click.echo(render("检测站风险排名", (["名次", "检测站", "检测数", "风险分", "发现"], rows)))


@vehicles.command("findings")
@db_option
@click.option("--station")
@click.option("--limit", type=click.IntRange(1, 5000), default=50, show_default=True)
def findings_cmd(db_url: str, station: str | None, limit: int) -> None:
    """Stored findings, newest first, with their evidence."""
    store = _store(db_url)
    try:
        rows = service.findings(store, station, limit)
    finally:
        store.close()
    body = [
        [
            r["seen"],
            r["station"],
            r["rule_name"],
            r["subject"],
            json.dumps(r["evidence"], ensure_ascii=False)[:80],
        ]
        for r in rows
    ]
    click.echo(render("发现", (["时间", "检测站", "规则", "对象", "证据"], body)))


@vehicles.command("keygen")
@db_option
@click.option("--key-id", required=True)
@click.option("--valid-from", required=True, help="YYYY-MM-DD")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="the private key's seed (hex), written with mode 0600",
)
def keygen_cmd(db_url: str, key_id: str, valid_from: str, out: Path) -> None:
    """Make a signing key, keep its private seed in a file and publish its public key."""
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    if out.exists():
        raise InputError("--out", "a new file (keys are never overwritten)", str(out))
    sk, pub = reportcode.new_key(key_id, _date(valid_from, "--valid-from"))
    seed = sk.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(seed.hex() + "\n")
    store = _store(db_url)
    try:
        service.publish_key(store, pub, "cli")
    finally:
        store.close()
    click.echo(json.dumps(pub.as_dict()))


@vehicles.command("keys")
@db_option
def keys_cmd(db_url: str) -> None:
    """The published public keys (JSON), for offline verifiers."""
    store = _store(db_url)
    try:
        keys = service.public_keys(store)
    finally:
        store.close()
    click.echo(json.dumps([k.as_dict() for k in keys.values()], indent=1))


def _load_key(path: Path) -> object:
    try:
        return reportcode.private_from_seed(bytes.fromhex(path.read_text().strip()))
    except ValueError:
        raise InputError("--key-file", "a 32-byte seed in hex", str(path)) from None


@vehicles.command("issue")
@db_option
@click.argument("inspection_id")
# The variables and default are declared in bishui.settings (vehicles.report_*).
@click.option("--key-id", envvar="BISHUI_VEHICLES_REPORT_KEY_ID", required=True)
@click.option(
    "--key-file",
    envvar="BISHUI_VEHICLES_REPORT_KEY_FILE",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
)
@click.option(
    "--base-url",
    envvar="BISHUI_VEHICLES_REPORT_BASE_URL",
    default="https://hbj.jingmen.gov.cn/vehicles",
    show_default=True,
)
@click.option("--qr", type=click.Path(dir_okay=False, path_type=Path), help="write the QR as SVG")
def issue_cmd(
    db_url: str, inspection_id: str, key_id: str, key_file: Path, base_url: str, qr: Path | None
) -> None:
    """Issue the report number and signed QR payload of a stored inspection."""
    sk = _load_key(key_file)
    store = _store(db_url)
    try:
        r = service.issue_report(store, inspection_id, key_id, sk, base_url, "cli")
    finally:
        store.close()
    if qr is not None:
        qr.write_text(reportcode.qr_svg(r["payload"]), encoding="utf-8")
        click.echo(f"wrote {qr}", err=True)
    click.echo(r["payload"])


@vehicles.command("verify")
@db_option
@click.argument("code")
@click.option(
    "--offline",
    "keys_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="verify with the public keys in this JSON file (from `keys`), no store",
)
def verify_cmd(db_url: str, code: str, keys_file: Path | None) -> None:
    """Verify a report code: offline with published keys, or against the stored report."""
    import base64

    if keys_file is not None:
        keys = {
            k["key_id"]: reportcode.PublicKey(
                k["key_id"],
                base64.urlsafe_b64decode(k["ed25519"] + "=" * (-len(k["ed25519"]) % 4)),
                dt.date.fromisoformat(k["valid_from"]),
                dt.date.fromisoformat(k["valid_to"]) if k["valid_to"] else None,
            )
            for k in json.loads(keys_file.read_text(encoding="utf-8"))
        }
        v = reportcode.verify(code, keys)
    else:
        store = _store(db_url)
        try:
            v = service.verify_code(store, code)
        finally:
            store.close()
    click.echo(
        json.dumps(
            {"ok": v.ok, "reason": v.reason, "detail": v.detail, "summary": v.summary},
            ensure_ascii=False,
        )
    )
    if not v.ok:
        raise SystemExit(1)


@vehicles.command("old")
@db_option
@click.option("--today", help="YYYY-MM-DD (default today)")
def old_cmd(db_url: str, today: str | None) -> None:
    """Old-vehicle (黄标车 / 国三及以下) elimination progress by county."""
    day = _date(today, "--today") if today else dt.date.today()
    store = _store(db_url)
    try:
        rows = oldvehicles.progress(service.old_register(store), day)
    finally:
        store.close()
    body = [
        [
            r["region"],
            r["total"],
            r["done"],
            r["pending"],
            r["overdue"],
            f"{int(r['done_permille']) / 10:.1f}%",
        ]
        for r in rows
    ]
    click.echo(render("淘汰进度", (["区县", "应淘汰", "已完成", "待淘汰", "逾期", "完成率"], body)))


@vehicles.command("register")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def register_cmd(db_url: str, path: Path) -> None:
    """Register stations, lanes and vehicles from a JSON file (docs/vehicles.md)."""
    if path.stat().st_size > 50_000_000:
        raise InputError("path", "at most 50 MB", path.stat().st_size)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError("path", "a JSON object", str(e)) from None
    if not isinstance(data, dict):
        raise InputError("path", "a JSON object", type(data).__name__)
    store = _store(db_url)
    try:
        counts = service.register(store, data, "cli")
    finally:
        store.close()
    click.echo(json.dumps(counts))
