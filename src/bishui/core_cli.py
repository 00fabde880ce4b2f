"""Platform-core commands: ``serve``, ``registry``, ``import``, ``quarantine``, ``aggregate``.

Every command takes ``--db URL`` (``duckdb:///path``, ``postgresql://…`` or a file path; the
environment variable ``BISHUI_DB`` sets the default).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import click

from bishui import settings
from bishui.cli_options import DEFAULT_DB, db_option
from bishui.store import Store, open_store
from bishui.timeutil import now_beijing

__all__ = ["DEFAULT_DB", "db_option"]


def _open(db_url: str) -> Store:
    return open_store(db_url)


def gateway_limit_options(f: Any) -> Any:
    """One ``--gateway-<field>`` option (and ``BISHUI_GATEWAY_<FIELD>`` variable) per
    :class:`~bishui.hj212.gateway.GatewayLimits` field: the limits are declared once, there,
    and gathered with every other setting in :mod:`bishui.settings` (docs/hj212.md and
    docs/settings.md list the same fields)."""
    for s in reversed(settings.GATEWAY):
        unit = f" [{s.unit}]" if s.unit else ""
        # default None: a limit not given is the dataclass's own default, not a copy of it
        f = settings.option(
            s, "limit_" + s.name, default=None, show_default=False,
            help=f"{s.help}{unit} (default {s.default})",
        )(f)  # fmt: skip
    return f


def gateway_limits(options: dict[str, Any]) -> Any:
    from bishui.hj212.gateway import GatewayLimits

    given = {k[6:]: v for k, v in options.items() if k.startswith("limit_") and v is not None}
    return GatewayLimits(**given)


def refuse_demo_secrets(store: Store) -> list[str]:
    """What in *store* comes from ``bishui demo`` (accounts with published names, the model
    city's devices): a production server must not run with it."""
    from bishui.demo.cli import demo_contents

    return demo_contents(store)


@click.command()
@db_option
# the web's address and port (declared in web.settings.Settings); BISHUI_WEB_HOST/PORT do not
# reach these options: the command's own values, defaults included, win (docs/settings.md)
@settings.option(settings.setting("web.host"), envvar=None, show_envvar=False, help="web address")
@settings.option(settings.setting("web.port"), envvar=None, show_envvar=False, help="web port")
@settings.option(settings.setting("platform.gateway_host"))
@settings.option(settings.setting("platform.gateway_port"))
@click.option("--no-web", is_flag=True, help="run the gateway only (scale-out ingest nodes)")
@click.option("--no-gateway", is_flag=True, help="run the web only (one of several web processes)")
@click.option(
    "--no-jobs",
    is_flag=True,
    help="run no background jobs (aggregation, engine refresh, alert delivery): exactly one "
    "process of a deployment runs them",
)
@click.option(
    "--reuse-port",
    is_flag=True,
    help="share the web port with other bishui serve processes (SO_REUSEPORT; PostgreSQL only)",
)
@settings.option(settings.setting("platform.bus"), metavar="nats://HOST:PORT")
@settings.option(settings.setting("platform.bus_max_pending"))
@settings.option(settings.setting("platform.bus_dedup_window"))
@settings.option(settings.setting("platform.metrics_host"))
@settings.option(settings.setting("platform.metrics_port"))
@settings.option(settings.setting("platform.backfill_days"))
@settings.option(settings.setting("platform.aggregate_every"))
@settings.option(settings.setting("platform.minute_retention_days"))
@settings.option(settings.setting("platform.maintain_every"))
@settings.option(settings.setting("platform.event_loop"))
@settings.option(settings.setting("platform.mqtt"), metavar="mqtt://HOST:PORT")
@settings.option(settings.setting("platform.mqtt_key"), metavar="env:NAME|file:/path")
@settings.option(settings.setting("platform.mqtt_group"), metavar="GROUP")
@settings.option(settings.setting("platform.mqtt_dedup_days"))
@click.option(
    "--allow-demo",
    is_flag=True,
    help="run even though the store holds the demo's accounts or devices (never in production)",
)
@settings.option(settings.setting("vehicles.box_host"))
@settings.option(settings.setting("vehicles.box_port"))
@gateway_limit_options
def serve(
    db_url: str,
    host: str,
    port: int,
    gateway_host: str,
    gateway_port: int,
    no_web: bool,
    no_gateway: bool,
    no_jobs: bool,
    reuse_port: bool,
    bus: str | None,
    bus_max_pending: int,
    bus_dedup_window: float,
    metrics_host: str,
    metrics_port: int | None,
    backfill_days: float,
    aggregate_every: float,
    minute_retention_days: int | None,
    maintain_every: float,
    event_loop: str,
    mqtt: str | None,
    mqtt_key: str,
    mqtt_group: str | None,
    mqtt_dedup_days: int,
    allow_demo: bool,
    box_host: str,
    box_port: int | None,
    **limit_options: Any,
) -> None:
    """Run the HJ 212 gateway and the web platform on an existing store."""
    if no_web and no_gateway:
        raise click.UsageError("--no-web and --no-gateway together leave nothing to run")
    from bishui.errors import InputError
    from bishui.runtime import PlatformConfig, run, run_platform

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        limits = gateway_limits(limit_options)
    except InputError as exc:
        hint = "--gateway-" + exc.field.replace("_", "-")
        raise click.BadParameter(str(exc), param_hint=hint) from None
    if reuse_port or bus:
        refuse_duckdb_scale_out(db_url, "--reuse-port" if reuse_port else "--bus")
    store = _open(db_url)
    try:
        demo = refuse_demo_secrets(store)
        if demo and not allow_demo:
            raise click.ClickException(
                "this store holds demo secrets (" + "; ".join(demo) + "): their passwords are "
                "known. Load a real registry and accounts, or pass --allow-demo to run it anyway."
            )
        from bishui.registry.service import rehash_clear_passwords

        rehashed = rehash_clear_passwords(store)  # a store from before issue 13
        if rehashed:
            click.echo(f"{rehashed} clear device passwords replaced by salted hashes", err=True)
        config = PlatformConfig(
            web_host=host,
            web_port=port,
            gateway_host=gateway_host,
            gateway_port=gateway_port,
            web=not no_web,
            gateway=not no_gateway,
            jobs=not no_jobs,
            reuse_port=reuse_port,
            bus=bus,
            bus_max_pending=bus_max_pending,
            bus_dedup_window=bus_dedup_window,
            metrics_host=metrics_host,
            metrics_port=metrics_port,
            limits=limits,
            backfill_days=backfill_days,
            aggregate_every=aggregate_every,
            minute_retention_days=minute_retention_days,
            maintain_every=maintain_every,
            mqtt=mqtt,
            mqtt_key=mqtt_key,
            mqtt_group=mqtt_group,
            mqtt_dedup_days=mqtt_dedup_days,
            alerts=settings.alerts_config(),
            port_hints={
                "web": f"bishui serve --port {port + 1}",
                "gateway": f"bishui serve --gateway-port {gateway_port + 1} "
                "(or BISHUI_GATEWAY_PORT)",
            },
        )

        if box_port is not None:  # the black boxes' own channel (docs/vehicles.md)
            _box_listener(store, config, box_host, box_port)

        def ready(info: dict[str, Any]) -> None:
            if not no_gateway:
                click.echo(f"HJ 212 gateway on {gateway_host}:{info['gateway_port']}", err=True)
            if box_port is not None:
                click.echo(f"black-box listener on {box_host}:{box_port}", err=True)
            if "metrics_port" in info:
                click.echo(f"metrics on http://{metrics_host}:{info['metrics_port']}/metrics",
                           err=True)  # fmt: skip
            if bus:
                click.echo(f"frames published to {bus}", err=True)
            if mqtt:
                click.echo(f"grid sensors from {mqtt}", err=True)
            if not no_web:
                click.echo(f"web on http://{host}:{port}/", err=True)

        metrics = run(run_platform(store, config, ready=ready), event_loop)
        if not no_gateway:  # the gateway's counters at exit
            click.echo(json.dumps(metrics, ensure_ascii=False, default=str), err=True)
    finally:
        store.close()


def _box_listener(store: Any, config: Any, host: str, port: int) -> None:
    """Bind the black boxes' port now (a port in use is refused before anything starts) and
    serve it as one of the platform's tasks."""
    from bishui.runtime import listen
    from bishui.vehicles import boxlistener

    sock = listen(host, port, "black-box", f"bishui serve --box-port {port + 1}")

    async def task(stop: asyncio.Event, _gateway_port: int) -> None:
        await boxlistener.serve(store, sock, stop)

    config.extra_tasks.append(task)


@click.group()
def registry() -> None:
    """Regions, enterprises, sites and data loggers."""


@registry.command("load")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def registry_load(db_url: str, path: Path) -> None:
    """Validate a registry TOML file and load it (all or nothing)."""
    from bishui.registry import apply, read_file

    store = _open(db_url)
    try:
        counts = apply(store, read_file(path))
    finally:
        store.close()
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


@registry.command("export")
@db_option
@click.option(
    "--format", "fmt", type=click.Choice(["toml", "csv"]), default="toml", show_default=True
)
@click.option("--table", default="sites", show_default=True, help="table, for CSV")
@click.option("--with-secrets", is_flag=True, help="include device passwords (TOML)")
def registry_export(db_url: str, fmt: str, table: str, with_secrets: bool) -> None:
    """Write the registry to stdout as TOML (all of it) or CSV (one table)."""
    from bishui.registry import export_csv, export_toml

    store = _open(db_url)
    try:
        text = (
            export_toml(store, include_secrets=with_secrets)
            if fmt == "toml"
            else export_csv(store, table)
        )
    finally:
        store.close()
    click.echo(text, nl=False)


@registry.command("list")
@db_option
@click.argument("what", type=click.Choice(["regions", "enterprises", "sites", "devices"]))
@click.option("--kind", help="site kind: air, water, source_gas, source_water")
def registry_list(db_url: str, what: str, kind: str | None) -> None:
    """List registry entries."""
    store = _open(db_url)
    try:
        rows = (
            store.rows(what, "kind = ?", [kind]) if kind and what == "sites" else store.rows(what)
        )
    finally:
        store.close()
    for r in rows:
        if what == "devices":
            r["pw"] = "***"
        click.echo("\t".join("" if v is None else str(v) for k, v in r.items() if k != "attrs"))


@click.command("import")
@db_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(db_url: str, path: Path) -> None:
    """Import a CSV or Excel file of monitoring values (all rows, or none)."""
    from bishui.ingest.upload import import_file
    from bishui.registry import devices

    store = _open(db_url)
    try:
        r = import_file(store, path.read_bytes(), path.name, devices(store), now=now_beijing())
    finally:
        store.close()
    note = (
        " (the same file was imported before: nothing changed)" if r.duplicate_of_previous else ""
    )
    click.echo(f"imported {r.rows} values from {path.name} as {r.source}{note}")


@click.group()
def quarantine() -> None:
    """Review what was refused: list, release into the series, or discard."""


@quarantine.command("list")
@db_option
@click.option(
    "--status",
    type=click.Choice(["held", "released", "discarded"]),
    default="held",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
def quarantine_list(db_url: str, status: str, limit: int) -> None:
    store = _open(db_url)
    try:
        rows = store.query(
            "SELECT id, received_at, channel, peer, mn, site_id, reason, message FROM quarantine "
            "WHERE status = ? ORDER BY id DESC LIMIT ?",
            [status, limit],
        )
    finally:
        store.close()
    for r in rows:
        click.echo(
            f"{r['id']}\t{r['received_at']:%Y-%m-%d %H:%M:%S}\t{r['channel']}\t"
            f"{r['mn'] or ''}\t{r['site_id'] or ''}\t{r['reason']}\t{r['message']}"
        )


@quarantine.command("release")
@db_option
@click.argument("qid", type=int)
@click.option("--by", required=True, help="who reviewed it")
@click.option("--note", required=True, help="why it is released")
def quarantine_release(db_url: str, qid: int, by: str, note: str) -> None:
    store = _open(db_url)
    try:
        store.quarantine_release(qid, by=by, note=note)
    finally:
        store.close()
    click.echo(f"released {qid}")


@quarantine.command("discard")
@db_option
@click.argument("qid", type=int)
@click.option("--by", required=True)
@click.option("--note", required=True)
def quarantine_discard(db_url: str, qid: int, by: str, note: str) -> None:
    store = _open(db_url)
    try:
        store.quarantine_discard(qid, by=by, note=note)
    finally:
        store.close()
    click.echo(f"discarded {qid}")


@click.command("aggregate")
@db_option
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), required=True, help="exclusive")
def aggregate_cmd(db_url: str, start: dt.datetime, end: dt.datetime) -> None:
    """Recompute the platform's hourly and daily values for a date range."""
    from bishui.ingest import aggregate

    store = _open(db_url)
    try:
        now = now_beijing()
        h = aggregate.hourly(store, start, end, now=now)
        d = aggregate.daily(store, start.date(), end.date(), now=now)
    finally:
        store.close()
    click.echo(f"{h} hourly and {d} daily values")


def refuse_duckdb_scale_out(db_url: str, what: str) -> None:
    """DuckDB lets one process open its file, and that process is its one writer: the shapes
    with several processes on one store (several writers, several web processes, gateways
    that publish to a bus for writers elsewhere) need PostgreSQL. Refused with a clear
    error before anything starts (docs/deploy.md, "What DuckDB allows")."""
    if not str(db_url).startswith(("postgresql://", "postgres://")):
        raise click.ClickException(
            f"{what} needs PostgreSQL: a DuckDB store is one file that one process opens and "
            "writes (bishui serve with the gateway writing it directly). Several writers, "
            "gateways publishing to a bus, or several web processes share a PostgreSQL store "
            "(--db postgresql://…; docs/deploy.md)."
        )


@click.command()
@db_option
@settings.option(settings.setting("platform.bus"), metavar="nats://HOST:PORT", required=True)
@click.option(
    "--durable",
    default="bishui-writer",
    show_default=True,
    help="consumer name: writers sharing it share the work",
)
@settings.option(settings.setting("platform.backfill_days"))
@settings.option(settings.setting("platform.bus_max_pending"))
@settings.option(settings.setting("platform.bus_dedup_window"))
# drain's own option (serve takes every other setting's): the writers' ack wait
@settings.option(
    dataclasses.replace(settings.setting("platform.bus_ack_wait"), option="--bus-ack-wait")
)
@click.option(
    "--batch",
    default=1000,
    show_default=True,
    type=click.IntRange(min=1, max=100_000),
    help="messages per fetch, written in one transaction",
)
@settings.option(settings.setting("platform.metrics_host"))
@settings.option(settings.setting("platform.metrics_port"))
@settings.option(settings.setting("platform.event_loop"))
def drain(
    db_url: str,
    bus: str,
    durable: str,
    backfill_days: float,
    bus_max_pending: int,
    bus_dedup_window: float,
    bus_ack_wait: float,
    batch: int,
    metrics_host: str,
    metrics_port: int | None,
    event_loop: str,
) -> None:
    """Write what the gateways published to NATS JetStream into the store (scale-out)."""
    import signal

    from bishui import metrics
    from bishui.ingest.bus import drain as drain_bus
    from bishui.runtime import run as run_loop

    refuse_duckdb_scale_out(db_url, "bishui drain")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    store = _open(db_url)

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        window = dt.timedelta(days=backfill_days)
        server = None
        if metrics_port is not None:
            server = await metrics.serve(metrics_host, metrics_port)
            port = server.sockets[0].getsockname()[1]
            click.echo(f"metrics on http://{metrics_host}:{port}/metrics", err=True)
        try:
            return await drain_bus(
                store, bus, durable=durable, stop=stop, backfill_window=window,
                ack_wait=bus_ack_wait, max_pending=bus_max_pending,
                dedup_window=bus_dedup_window, batch=batch,
            )  # fmt: skip
        finally:
            if server is not None:
                server.close()

    try:
        n = run_loop(run(), event_loop)
    finally:
        store.close()
    click.echo(f"wrote {n} messages", err=True)


@click.group("store")
def store_group() -> None:
    """The store's maintenance: partitions of the series (PostgreSQL) and retention."""


@store_group.command("partitions")
@db_option
@click.option("--months", type=click.IntRange(min=0), default=3, show_default=True,
              help="months ahead of this one to create")  # fmt: skip
@click.option("--storage", multiple=True, metavar="KIND:NAME=VALUE[,…]",
              help="set the autovacuum parameters of KIND's partitions (minute, hourly), "
              "new and existing; 'KIND:' alone resets them to the server's "
              "(docs/postgresql.md)")  # fmt: skip
def store_partitions(db_url: str, months: int, storage: tuple[str, ...]) -> None:
    """Create the partitions of the series ahead of time and list them (PostgreSQL; rows
    waiting in a default partition are moved into theirs), with the autovacuum parameters
    each kind of partition is created with."""
    settings_of: list[tuple[str, dict[str, str]]] = []
    for spec in storage:
        kind, colon, rest = spec.partition(":")
        items = [i for i in rest.split(",") if i.strip()]
        if not colon or any("=" not in i for i in items):
            raise click.BadParameter(f"KIND:NAME=VALUE[,…], not {spec!r}", param_hint="--storage")
        settings_of.append(
            (kind.strip(), {k.strip(): v.strip() for k, v in (i.split("=", 1) for i in items)})
        )
    store = _open(db_url)
    try:
        for kind, options in settings_of:
            store.set_partition_storage(kind, options)
        now = now_beijing()
        start = dt.datetime(now.year, now.month, 1)
        end = start
        for _ in range(months + 1):
            end = dt.datetime(end.year + end.month // 12, end.month % 12 + 1, 1)
        created = store.ensure_partitions(start, end)
        parts = store.measurement_partitions()
        kept = store.partition_storage()
    finally:
        store.close()
    if store.dialect != "postgresql":
        click.echo("DuckDB keeps no partitions: nothing to do")
        return
    for name in created:
        click.echo(f"created {name}")
    for p in parts:
        span = "default" if p["start"] is None else f"{p['start']:%Y-%m-%d} – {p['end']:%Y-%m-%d}"
        click.echo(f"{p['name']:<32} {p['kind']:<7} {span:<25} ~{p['rows']:,} rows")
    for kind, options in kept.items():
        shown = ", ".join(f"{k}={v}" for k, v in options.items()) or "the server's"
        click.echo(f"new {kind} partitions: {shown}")


@store_group.command("retention")
@db_option
@settings.option(settings.setting("platform.minute_retention_days"), required=True)
@settings.option(settings.setting("platform.mqtt_dedup_days"))
@click.option("--dry-run", is_flag=True, help="say what would be removed; remove nothing")
@click.option(
    "--no-aggregate",
    is_flag=True,
    help="do not aggregate unaggregated hours first: keep them (and what follows)",
)
def store_retention(
    db_url: str, minute_retention_days: int, mqtt_dedup_days: int, dry_run: bool,
    no_aggregate: bool,
) -> None:  # fmt: skip
    """Remove minute and real-time values older than --minute-retention-days (hourly and
    daily values are kept for ever; nothing not yet aggregated is removed), and the grid's
    redelivery keys received more than --mqtt-dedup-days ago (docs/grid.md)."""
    from bishui.grid.intake import prune
    from bishui.ingest.retention import retention

    store = _open(db_url)
    try:
        now = now_beijing()
        report = retention(store, now, minute_retention_days,
                           aggregate_first=not no_aggregate, dry_run=dry_run).as_dict()  # fmt: skip
        report["grid_message"] = prune(store, now, mqtt_dedup_days, dry_run=dry_run)
    finally:
        store.close()
    click.echo(json.dumps(report, ensure_ascii=False, indent=1))
