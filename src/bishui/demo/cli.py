"""``bishui demo``: the whole model city on this machine, in one command."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

import click

from bishui.demo.city import SYNTHETIC_NOTICE, ModelCity, build
from bishui.demo.history import generate
from bishui.ingest import aggregate
from bishui.registry import apply
from bishui.store import Store, open_store
from bishui.timeutil import current_hour, now_beijing

STATE_FILE = "demo-state.json"
DEVICES_FILE = "demo-devices.json"
DEMO_ROLES = (
    # username, role, scope (region code or enterprise index), display name
    ("admin", "admin", None, "系统管理员"),
    ("analyst", "analyst", None, "生态环境局分析员"),
    ("inspector", "inspector", None, "环境监察员"),
    ("chief", "chief", None, "执法科长"),
    ("county", "county", "420822", "沙洋县用户"),
    ("enterprise", "enterprise", 0, "企业用户"),
    ("operator", "operator", None, "交易机构"),
    ("finance", "finance", None, "财政局用户"),  # county scorecards and allocations
    ("police", "police", None, "环保警察"),  # transferred cases, joint operations (issue 20)
    ("river_chief", "river_chief", None, "后港镇乡级湖长（模拟）"),  # issue 20, rivers.toml
    ("volunteer", "volunteer", None, "漳河水库义务监督员（模拟）"),  # issue 20
)


def prepare(
    store: Store, data_dir: Path, *, seed: int, days: int, now: dt.datetime, echo: Any = click.echo
) -> tuple[ModelCity, dict[str, Any]]:
    """Load the model city and bring its synthetic history up to the newest complete hour.

    A first run writes *days* of history; a later run reuses it and only fills the hours
    between the last run and now. The history ends with the newest complete hour at *now*
    (:func:`bishui.timeutil.current_hour`): the real-time report has an hour to publish from
    the first minute. Each step says what it did, with counts and seconds, as it goes (the
    first start takes a minute or more).
    """
    state_path = data_dir / STATE_FILE
    state: dict[str, Any] = (
        json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
    )
    seed = int(state.get("seed", seed))
    fresh_passwords = not (data_dir / DEVICES_FILE).exists()
    model = _with_device_passwords(build(seed), data_dir)
    end = current_hour(now)
    if state.get("history_end"):
        start = dt.datetime.fromisoformat(state["history_end"])
        if fresh_passwords:  # a data directory from before issue 13: its devices get new ones
            from bishui.registry import Registry

            apply(store, Registry(devices=model.registry.devices))
    else:
        t0 = time.monotonic()
        echo(f"[1/5] Loading the model city (seed {seed}) into {store.url} …")
        apply(store, model.registry)
        from bishui.demo.city_permits import load_demo_permits

        permits = load_demo_permits(store, model)
        reg = model.registry
        echo(
            f"      {len(reg.regions)} regions, {len(reg.sites)} sites, {len(reg.devices)} "
            f"devices, {len(reg.enterprises)} enterprises; permits "
            + ", ".join(f"{k} {v}" for k, v in permits.items())
            + f" ({time.monotonic() - t0:.0f} s)"
        )
        start = end - dt.timedelta(days=days)
        state = {"seed": seed, "history_start": start.isoformat(), "notice": SYNTHETIC_NOTICE}
    if start < end:
        _history(store, model, data_dir, state, start, end, now=now, echo=echo)
        setup_engines(
            store, model, dt.datetime.fromisoformat(state["history_start"]), end, now=now, echo=echo
        )
    from bishui.demo import vehicles as demo_vehicles

    demo_vehicles.setup(store, data_dir, end, now=now, echo=echo)  # issue 19 (idempotent)
    from bishui.demo import grid as demo_grid

    demo_grid.setup(store, model, end, echo=echo)  # issue 21: grid sensors (idempotent)
    from bishui.demo import participation as demo_participation

    demo_participation.setup(store, data_dir, now=now, echo=echo)  # issue 20 (idempotent)
    return model, state


def _history(
    store: Store,
    model: ModelCity,
    data_dir: Path,
    state: dict[str, Any],
    start: dt.datetime,
    end: dt.datetime,
    *,
    now: dt.datetime,
    echo: Any,
) -> None:
    """Write the synthetic hours ``start <= ts < end`` and their daily values; record the end."""
    t0 = time.monotonic()
    echo(
        f"[2/5] Generating synthetic history {start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} "
        "(Beijing time; the last hour is the newest complete one) …"
    )
    written = [0]

    def progress(done: int, total: int, values: int) -> None:
        written[0] += values
        echo(
            f"      history {done}/{total}: {written[0]:,} hourly values "
            f"({time.monotonic() - t0:.0f} s)"
        )

    stats = generate(
        store, model, start, end, progress=progress, events_file=data_dir / "synthetic-events.json"
    )
    echo(f"      {stats['values']:,} hourly values at {stats['sites']} sites")
    t1 = time.monotonic()
    echo("[3/5] Computing daily values …")
    n = aggregate.daily(store, start.date(), end.date() + dt.timedelta(days=1), now=now)
    echo(f"      {n:,} daily values ({time.monotonic() - t1:.0f} s)")
    state["history_end"] = end.isoformat()
    (data_dir / STATE_FILE).write_text(
        json.dumps(state, ensure_ascii=False, indent=2), encoding="utf-8"
    )


def top_up(
    store: Store,
    model: ModelCity,
    data_dir: Path,
    *,
    now: dt.datetime,
    echo: Any = click.echo,
) -> int:
    """Fill the hours that completed while the demo was preparing; return how many.

    Called just before the simulated loggers start: they send from the current hour on, so an
    hour that ended during a long first start would otherwise stay empty, and the real-time
    report would have nothing for its newest complete hour. The engines' own refresh (every
    minute, ``bishui.runtime``) catches up on these hours.
    """
    state_path = data_dir / STATE_FILE
    state: dict[str, Any] = json.loads(state_path.read_text(encoding="utf-8"))
    start = dt.datetime.fromisoformat(state["history_end"])
    end = current_hour(now)
    if start >= end:
        return 0
    _history(store, model, data_dir, state, start, end, now=now, echo=echo)
    return int((end - start) / dt.timedelta(hours=1))


def demo_contents(store: Store) -> list[str]:
    """What in *store* came from the demo: its accounts (the published user names with the
    demo's display names) and the model city's devices (MN at the same site)."""
    from bishui.errors import StorageError

    found = []
    names = {(u, n) for u, _, _, n in DEMO_ROLES}
    try:
        users = store.query("SELECT username, display_name FROM users")
    except StorageError:  # no web tables yet
        users = []
    demo_users = sorted(r["username"] for r in users if (r["username"], r["display_name"]) in names)
    if demo_users:
        found.append("demo accounts " + ", ".join(demo_users))
    model = {(d.mn, d.site_id) for d in build().registry.devices}
    devices = [r["mn"] for r in store.rows("devices") if (r["mn"], r["site_id"]) in model]
    if devices:
        found.append(f"{len(devices)} devices of the demo city")
    return found


def _with_device_passwords(model: ModelCity, data_dir: Path) -> ModelCity:
    """The demo's device passwords: generated (``secrets``) on the first run and kept in the
    data directory (0600) for the simulated loggers of later runs; the store has only their
    hashes."""
    import dataclasses

    path = data_dir / DEVICES_FILE
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        model.registry.devices = [
            dataclasses.replace(d, pw=saved.get(d.mn, d.pw)) for d in model.registry.devices
        ]
    else:
        data = {d.mn: d.pw for d in model.registry.devices}
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        path.chmod(0o600)
    return model


def setup_engines(
    store: Store,
    model: ModelCity,
    start: dt.datetime,
    end: dt.datetime,
    *,
    now: dt.datetime,
    echo: Any = click.echo,
) -> None:
    """What the engines need on top of the history: agreements, figures, statements …

    Each step is idempotent, so a later run repeats it over the whole history cheaply.
    """
    from bishui.demo import compensation
    from bishui.water import outbox as water_outbox
    from bishui.water.supervision import run_alerts

    t0 = time.monotonic()
    echo("[4/5] Running the engines over the history: drinking-water sources, pollution sources …")
    alerts = run_alerts(store, now=end)
    # 监察监测联动: the sources' alerts into the enforcement loop (惠亭水库's NH3-N exceedance
    # becomes an inspection task), as the platform's refresh does every minute from then on.
    routed = water_outbox.route(store, now=now)
    echo(
        f"      drinking-water sources: {len(alerts['alerts'])} alerts → {len(routed.alerts)} "
        f"enforcement alerts ({routed.merged} continued a live one), {len(routed.tasks)} tasks"
    )
    from bishui.sources.service import run_checks_span

    # The pollution-source checks over the whole history (the platform's refresh catches up
    # from the end of it): findings, alerts and tasks to work on, and year-to-date masses with
    # no unchecked days, so the caps the model city plans to breach are breached.
    echo(f"      pollution-source checks over {(end - start).days} days …")
    reports = run_checks_span(store, start, end, now=now)
    echo(
        f"      pollution-source checks, {start:%Y-%m-%d} → {end:%Y-%m-%d}: "
        f"{sum(len(r.new) for r in reports)} new findings, "
        f"{sum(r.alerts for r in reports)} alerts, {sum(len(r.tasks) for r in reports)} tasks "
        f"({time.monotonic() - t0:.0f} s)"
    )
    t1 = time.monotonic()
    echo("[5/5] Ecological compensation: agreements, entered figures, statements …")
    n = compensation.setup(store, start.date(), end.date(), now=now)
    echo(f"      {n} agreement-periods computed ({time.monotonic() - t1:.0f} s)")
    from bishui.demo import energy as demo_energy

    t2 = time.monotonic()
    n_energy = demo_energy.setup(store)
    echo(f"      energy and reduction accounts (synthetic): {n_energy} rows "
         f"({time.monotonic() - t2:.0f} s)")  # fmt: skip
    from bishui.exchange.seed import seed_exchange

    t2 = time.monotonic()
    # The exchange: rights determined from the permits and last year's verified emissions, fees,
    # a bidding session, an agreement transfer, carbon and energy savings (docs/exchange.md).
    ex = seed_exchange(
        store, on=end.date() - dt.timedelta(days=1), operator="admin", regulator="analyst",
        representatives={model.registry.enterprises[0].uscc: "enterprise"},
    )  # fmt: skip
    echo(f"      exchange: {ex} ({time.monotonic() - t2:.0f} s)")
    from bishui.demo import assessment

    t2 = time.monotonic()
    echo("      county scorecards, fund allocation, asset tables, a departure audit …")
    got = assessment.setup(store, now)
    echo(
        f"      {got['runs']} scoring runs, {got['allocations']} allocations, "
        f"{got['asset_lines']} asset lines ({time.monotonic() - t2:.0f} s)"
    )
    from bishui.demo import police as demo_police

    t2 = time.monotonic()
    got = demo_police.setup(store, now)  # a case transferred and accepted, a night operation
    echo(f"      environmental police: {got['cases']} case transferred, {got['operations']} "
         f"night operation ({time.monotonic() - t2:.1f} s)")  # fmt: skip
    from bishui.demo import rivers as demo_rivers

    t2 = time.monotonic()
    rv = demo_rivers.setup(store, now)  # river and lake chiefs, patrols → tasks (issue 20)
    echo(
        f"      river and lake chiefs: {rv['sections']} sections, {rv['chiefs']} chiefs, "
        f"{rv['patrols']} patrols → {rv['problems']} tasks ({time.monotonic() - t2:.1f} s)"
    )
    from bishui.demo import programmes as demo_programmes

    t2 = time.monotonic()
    got = demo_programmes.setup(store, now)  # illustrative: a damage case, the 52 plants
    echo(f"      damage case and projects (illustrative): {got['cases']} case, "
         f"{got['projects']} projects, {got['tasks']} 督办 tasks "
         f"({time.monotonic() - t2:.1f} s)")  # fmt: skip


def demo_accounts(store: Store, model: ModelCity, data_dir: Path) -> list[dict[str, str]]:
    """One account per role (created once; passwords kept in the data directory, 0600)."""
    from bishui.web import accounts, schema

    schema.ensure(store)
    path = data_dir / "demo-accounts.json"
    if path.exists():
        return list(json.loads(path.read_text(encoding="utf-8")))
    out = []
    for username, role, scope, name in DEMO_ROLES:
        password = secrets.token_urlsafe(9)
        region = scope if isinstance(scope, str) else None
        enterprise = model.registry.enterprises[scope].uscc if isinstance(scope, int) else None
        scope = region or enterprise
        accounts.add_user(
            store, username, password, role, region=region, enterprise=enterprise, display_name=name
        )
        out.append({"username": username, "password": password, "role": role, "scope": scope or ""})
    path.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return out


@click.command()
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("bishui-data"),
    show_default=True,
    help="where the demo keeps its files",
)
@click.option(
    "--seed",
    type=int,
    default=20261122,
    show_default=True,
    help="seed of the synthetic city (a later run keeps the first run's)",
)
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=730,
    show_default=True,
    help="days of history written on the first run (two years: the annual figures and "
    "statements need a whole calendar year)",
)
@click.option("--port", type=int, default=8000, show_default=True, help="web port")
@click.option(
    "--gateway-port", type=int, default=9212, show_default=True, help="HJ 212 gateway port"
)
@click.option("--no-loggers", is_flag=True, help="do not start the simulated data loggers")
@click.option(
    "--mqtt",
    envvar="BISHUI_MQTT",
    metavar="mqtt://HOST:PORT",
    help="MQTT broker: take the grid sensors' messages from it and (unless --no-loggers) run "
    "the simulated grid sensors publishing there (docs/grid.md)",
)
@click.option("--prepare-only", is_flag=True, help="load and generate, then exit")
def demo(
    data_dir: Path,
    seed: int,
    days: int,
    port: int,
    gateway_port: int,
    no_loggers: bool,
    mqtt: str | None,
    prepare_only: bool,
) -> None:
    """Run the Jingmen model city: store, history, gateway, loggers and web, on this machine."""
    from bishui.demo.live import LiveValues, logger_configs
    from bishui.hj212.simulator import run_fleet
    from bishui.runtime import PlatformConfig, check_port, run, run_platform
    from bishui.web.settings import ensure_secret_file

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    hints = {
        "web": f"bishui demo --port {port + 1} (or make demo PORT={port + 1})",
        "gateway": f"bishui demo --gateway-port {gateway_port + 1} "
        f"(or make demo GATEWAY_PORT={gateway_port + 1})",
    }
    if not prepare_only:
        # before a first start's minute of preparation, not after it
        check_port("127.0.0.1", port, "web", hints["web"])
        check_port("127.0.0.1", gateway_port, "HJ 212 gateway", hints["gateway"])
    data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(data_dir / "bishui.duckdb")
    try:
        model, _ = prepare(store, data_dir, seed=seed, days=days, now=now_beijing())
        if prepare_only:
            return
        users = demo_accounts(store, model, data_dir)
        # the hours that ended while preparing: the live loggers start from the current one
        top_up(store, model, data_dir, now=now_beijing())
        # The web needs a signing secret: BISHUI_SECRET when set, else the demo's own file
        # (created 0600 on the first run, reused afterwards).
        secret = (
            None if os.environ.get("BISHUI_SECRET") else ensure_secret_file(data_dir / "web-secret")
        )
        from bishui.settings import alerts_config

        # alerts go to the log unless BISHUI_ALERTS_* say otherwise (docs/alerts.md)
        config = PlatformConfig(
            web_port=port,
            gateway_port=gateway_port,
            web_secret=secret,
            port_hints=hints,
            alerts=alerts_config(),
        )
        if mqtt:
            _grid_sensors(config, model, data_dir, mqtt, simulate=not no_loggers)
        if not no_loggers:
            configs = logger_configs(model)
            values = LiveValues(model)

            async def loggers(stop: asyncio.Event, gw_port: int) -> None:
                # Runs until the platform cancels it on shutdown.
                await run_fleet(
                    configs, "127.0.0.1", gw_port, duration=None, values=values, seed=model.seed
                )

            config.extra_tasks.append(loggers)

        def ready(info: dict[str, Any]) -> None:
            click.echo("")
            click.echo(f"bishui demo — {SYNTHETIC_NOTICE}")
            click.echo(f"  web:          http://127.0.0.1:{port}/")
            click.echo(f"  API docs:     http://127.0.0.1:{port}/docs")
            click.echo(
                f"  HJ 212:       127.0.0.1:{info['gateway_port']} "
                f"({len(model.registry.devices)} simulated loggers"
                f"{' off' if no_loggers else ''})"
            )
            if mqtt:
                click.echo(f"  MQTT:         {mqtt} (grid sensors{' off' if no_loggers else ''})")
            click.echo(f"  data:         {data_dir.resolve()}")
            if secret:
                click.echo(f"  web secret:   {(data_dir / 'web-secret').resolve()} (0600)")
            click.echo("  accounts (also in demo-accounts.json):")
            for u in users:
                click.echo(f"    {u['role']:<10} {u['username']:<11} {u['password']}  {u['scope']}")
            click.echo("Ctrl-C stops it; running it again reuses what exists.")

        run(run_platform(store, config, ready=ready))
    finally:
        store.close()


def _grid_sensors(
    config: Any, model: ModelCity, data_dir: Path, url: str, *, simulate: bool
) -> None:
    """The MQTT intake on *url* with the demo's platform key (``mqtt-key``, 0600, made on the
    first run unless ``BISHUI_MQTT_KEY`` names another) and, with *simulate*, the model city's
    grid sensors publishing their minute data there."""
    from bishui.demo import grid as demo_grid
    from bishui.grid.keys import ensure_key_file, platform_key
    from bishui.grid.simulator import run_sensors

    ref = os.environ.get("BISHUI_MQTT_KEY") or ensure_key_file(data_dir / "mqtt-key")
    config.mqtt, config.mqtt_key = url, ref
    if not simulate:
        return
    grid = demo_grid.build(model)
    sensors = demo_grid.sensors(grid)
    values = demo_grid.GridValues(model, grid)
    key = platform_key(ref)

    async def publish(stop: asyncio.Event, gw_port: int) -> None:
        await run_sensors(url, sensors, key, values, stop, now=now_beijing)

    config.extra_tasks.append(publish)
