"""Running the platform: the HJ 212 gateway, the web server, aggregation — in one process.

``bishui serve`` and ``bishui demo`` both end here. One asyncio loop carries the gateway
(TCP, port 9212), the web app (uvicorn, port 8000), a task that keeps the platform's hourly
and daily values current, and — in the demo — the simulated data loggers of the model city.
SIGINT/SIGTERM stop all of it cleanly: loggers first, then the gateway (no new frames), then
the writer (everything acknowledged is already committed), then the web server.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import errno
import logging
import signal
import socket
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from bishui import control, metrics
from bishui.errors import ConfigError
from bishui.hj212.gateway import Gateway, GatewayLimits
from bishui.ingest import aggregate
from bishui.ingest.sink import DeviceDirectory, StoreSink
from bishui.settings import setting
from bishui.store import Store
from bishui.timeutil import now_beijing

T = TypeVar("T")

log = logging.getLogger("bishui")


def run(main: Coroutine[Any, Any, T], event_loop: str = "auto") -> T:
    """Run *main* to completion on the event loop named by ``platform.event_loop``.

    ``uvloop`` (libuv) serves a web request for about half the CPU of asyncio's own loop on
    the model city (docs/benchmarks.md, "The web under load"); ``auto`` takes it where it is
    installed (it is a dependency on Linux and macOS, not on Windows). The HJ 212 gateway,
    uvicorn and the bus clients use only the asyncio API, which uvloop implements.
    """
    if event_loop not in ("auto", "uvloop", "asyncio"):
        raise ConfigError("platform.event_loop", "auto, uvloop or asyncio", event_loop)
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if event_loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if event_loop == "uvloop":
                raise ConfigError(
                    "platform.event_loop", "uvloop installed (pip install uvloop)", event_loop
                ) from None
        else:
            factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(main)


def _default(key: str) -> Any:
    """The default of the setting *key*, declared once in :mod:`bishui.settings`."""
    return setting(key).default


@dataclass
class PlatformConfig:
    """How one run of the platform is set up; every default is the declared setting's
    (:mod:`bishui.settings`, docs/settings.md)."""

    web_host: str = _default("web.host")
    web_port: int = _default("web.port")
    gateway_host: str = _default("platform.gateway_host")
    gateway_port: int = _default("platform.gateway_port")
    aggregate_every: float = _default("platform.aggregate_every")  # [s] between passes
    #: minute data older than this are dropped once aggregated; None: kept for ever
    minute_retention_days: int | None = _default("platform.minute_retention_days")
    maintain_every: float = _default("platform.maintain_every")  # [s] between maintenance
    web: bool = True
    bus: str | None = _default("platform.bus")  # nats://… : the gateway publishes to JetStream
    #: mqtt://… : the grid sensors' broker (bishui.grid.mqtt); None: no MQTT intake
    mqtt: str | None = _default("platform.mqtt")
    #: reference (env:NAME / file:/path) to the platform key of the grid sensors' signatures
    mqtt_key: str = _default("platform.mqtt_key")
    #: the intakes' shared-subscription group ($share/GROUP/…); None: a plain subscription
    mqtt_group: str | None = _default("platform.mqtt_group")
    #: [d] redelivery keys (grid_message) kept after their receipt, then pruned
    mqtt_dedup_days: int = _default("platform.mqtt_dedup_days")
    #: the stream's backpressure bound and duplicate window (docs/deploy.md)
    bus_max_pending: int = _default("platform.bus_max_pending")
    bus_dedup_window: float = _default("platform.bus_dedup_window")
    #: run the HJ 212 gateway (False: a web process of several, ``serve --no-gateway``)
    gateway: bool = True
    #: run the background jobs (aggregation, engine refresh, alert delivery); exactly one
    #: process of a deployment runs them (``serve --no-jobs`` on the others)
    jobs: bool = True
    #: bind the web port with SO_REUSEPORT: several web processes share it (PostgreSQL only)
    reuse_port: bool = False
    #: a /metrics listener of its own (bishui.metrics.serve): address and port; None: none
    metrics_host: str = _default("platform.metrics_host")
    metrics_port: int | None = _default("platform.metrics_port")
    #: reference to the web signing secret (env:NAME / file:/path); None: the web settings'
    #: own (``BISHUI_WEB_SECRET``, default ``env:BISHUI_SECRET``). Required: at least 32 bytes.
    web_secret: str | None = None
    limits: GatewayLimits = field(default_factory=GatewayLimits)
    #: older DataTime → quarantined too_old; None: no limit
    backfill_days: float | None = _default("platform.backfill_days")
    extra_tasks: list[Callable[[asyncio.Event, int], Any]] = field(default_factory=list)
    #: the refresh hooks of this run, ``(name, hook)`` in order; None: the registered ones
    #: (:func:`refresh_hooks`)
    refresh: Sequence[tuple[str, RefreshHook]] | None = None
    #: the ``alerts.*`` settings (bishui.settings.alerts_config): the senders of the delivery
    #: outbox; None: no delivery worker (messages wait in the outbox)
    alerts: dict[str, Any] | None = None
    #: how a person chooses another port, per listener, for the "port in use" message
    port_hints: dict[str, str] = field(
        default_factory=lambda: {"web": "--port", "gateway": "--gateway-port"}
    )
    #: run ``bishui`` commands handed over by other processes (``bishui.control``) when the
    #: store is a DuckDB file, which this process then holds alone
    control: bool = True


def _in_use(what: str, host: str, port: int, hint: str, code: int | None = None) -> ConfigError:
    why = (
        "may not be used by this user (ports below 1024 need privileges)"
        if code == errno.EACCES
        else "is already in use — another bishui demo or serve, or another program, listens there"
    )
    return ConfigError(
        f"{what} port",
        "a free port",
        port,
        message=f"port {port} on {host} ({what}) {why}. Stop it, or choose another port: {hint}.",
    )


def check_port(host: str, port: int, what: str, hint: str) -> None:
    """Refuse early, with a message a person can act on, when *host*:*port* cannot be bound
    (port 0, "any free port", always can). Binds as the servers do (SO_REUSEADDR)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise _in_use(what, host, port, hint, exc.errno) from exc
            raise


def listen(host: str, port: int, what: str, hint: str, reuse_port: bool = False) -> socket.socket:
    """A listening socket on *host*:*port*, or the "port in use" :class:`ConfigError`.
    *reuse_port*: SO_REUSEPORT, several processes listening on one port (the kernel spreads
    the connections among them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        s.bind((host, port))
        s.listen(2048)
    except OSError as exc:
        s.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise _in_use(what, host, port, hint, exc.errno) from exc
        raise
    s.setblocking(False)
    return s


#: A domain's refresh hook, ``hook(store, now)``: what the platform recomputes every minute
#: after aggregation, so late data reaches the published figures.
RefreshHook = Callable[[Store, dt.datetime], object]

_REFRESH: dict[str, RefreshHook] = {}


def register_refresh(name: str, hook: RefreshHook) -> None:
    """Register a domain's refresh hook under *name*; hooks run in registration order.

    The application registers each domain's hook at start-up (``bishui.app.REFRESH``, as it
    hands the store their migrations): the runtime names no domain. Registering a name again
    replaces its hook in place (start-up is idempotent)."""
    _REFRESH[name] = hook


def refresh_hooks() -> list[tuple[str, RefreshHook]]:
    """The registered refresh hooks, ``(name, hook)`` in the order they run."""
    return list(_REFRESH.items())


def refresh_engines(
    store: Store, now: dt.datetime, hooks: Sequence[tuple[str, RefreshHook]] | None = None
) -> None:
    """Run *hooks* (default: the registered ones) in order; one failing is logged."""
    for name, hook in refresh_hooks() if hooks is None else hooks:
        try:
            hook(store, now)
        except Exception:  # one engine's failure must not stop the others or the platform
            log.exception("refresh %s failed", name)


def aggregate_recent(store: Store, now: dt.datetime) -> int:
    """Recompute the platform's values of the last three hours and of yesterday and today."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    n = aggregate.hourly(store, hour - dt.timedelta(hours=3), hour + dt.timedelta(hours=1), now=now)
    today = now.date()
    n += aggregate.daily(store, today - dt.timedelta(days=1), today + dt.timedelta(days=1), now=now)
    return n


async def _aggregator(
    store: Store,
    stop: asyncio.Event,
    every: float,
    hooks: Sequence[tuple[str, RefreshHook]] | None = None,
) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            now = now_beijing()
            await loop.run_in_executor(None, aggregate_recent, store, now)
            await loop.run_in_executor(None, refresh_engines, store, now, hooks)
        except Exception:  # keep the platform up; the next pass retries the same window
            log.exception("aggregation pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


def maintain_store(store: Store, now: dt.datetime, config: PlatformConfig) -> dict[str, Any]:
    """One maintenance pass: partitions created ahead and retention of minute data
    (bishui.ingest.retention.maintain), then the grid's redelivery keys older than
    ``platform.mqtt_dedup_days`` pruned (bishui.grid.intake.prune). What it did, by step."""
    from bishui.grid.intake import prune
    from bishui.ingest import retention

    done = retention.maintain(store, now, config.minute_retention_days)
    done["grid_message"] = prune(store, now, config.mqtt_dedup_days)
    return done


async def _maintainer(store: Store, stop: asyncio.Event, config: PlatformConfig) -> None:
    """The store's maintenance every ``platform.maintain_every`` seconds (:func:`maintain_store`):
    partitions created ahead, retention of minute data, the grid's old redelivery keys."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            done = await loop.run_in_executor(None, maintain_store, store, now_beijing(), config)
            if (done["partitions_created"] or done["retention"]["partitions_dropped"]
                    or done["grid_message"]["rows_deleted"]):  # fmt: skip
                log.info("store maintenance: %s", done)
            if done["retention"]["held_from"]:
                log.warning("retention held minute data from %s: not aggregated",
                            done["retention"]["held_from"])  # fmt: skip
        except Exception:  # keep the platform up; the next pass retries
            log.exception("store maintenance failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.maintain_every)


async def _deliverer(store: Store, stop: asyncio.Event, alerts: dict[str, Any]) -> None:
    """Send the delivery outbox's due messages every ``alerts.deliver_every`` seconds, off the
    ingest and request paths (bishui.enforcement.delivery)."""
    from bishui.enforcement import delivery, senders

    registry = senders.registry_from_config(alerts)
    retry = delivery.RetryPolicy(int(alerts["max_attempts"]), float(alerts["retry_seconds"]))
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        try:
            await loop.run_in_executor(
                None, delivery.deliver_due, store, registry, now_beijing(), retry
            )
        except Exception:  # keep the platform up; the rows stay pending
            log.exception("delivery pass failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), float(alerts["deliver_every"]))


def web_settings(config: PlatformConfig) -> Any:
    """The web settings of the platform, its secret checked: a missing secret or one under
    32 bytes is a :class:`~bishui.errors.ConfigError` before anything starts listening."""
    from bishui.web.settings import from_env

    # The web settings are declared once (bishui.web.settings): BISHUI_WEB_* variables apply,
    # the command's host, port (and the demo's secret file) win.
    settings = from_env(host=config.web_host, port=config.web_port, secret=config.web_secret)
    settings.resolve_secret(required=True)
    return settings


def _web_server(store: Store, settings: Any) -> Any:
    import uvicorn

    from bishui.web.app import create_app, uvicorn_options

    class _Server(uvicorn.Server):
        # The platform owns the signals: one Ctrl-C stops every part, in order.
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    app = create_app(store, settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        **uvicorn_options(settings),
    )
    return _Server(config)


def _grid_intake(store: Store, config: PlatformConfig, directory: DeviceDirectory) -> Any:
    """The MQTT intake of the grid sensors when ``config.mqtt`` names a broker, its platform
    key resolved (a missing or short key is a :class:`ConfigError` before anything starts)."""
    if not config.mqtt:
        return None
    from bishui.grid.keys import platform_key
    from bishui.grid.mqtt import MqttIntake

    key = platform_key(config.mqtt_key)
    window = None if config.backfill_days is None else dt.timedelta(days=config.backfill_days)
    return MqttIntake(store, config.mqtt, key, directory=directory, backfill_window=window,
                      group=config.mqtt_group)  # fmt: skip


#: The gateway's counters shown as Prometheus metrics: name → (key in Gateway.metrics(), type,
#: help).
GATEWAY_METRICS: dict[str, tuple[str, str, str]] = {
    "bishui_gateway_frames_in_total": ("frames_accepted", "counter",
                                       "frames authenticated and handed to the sink"),
    "bishui_gateway_acks_total": ("acks_sent", "counter", "9014 acknowledgements sent"),
    "bishui_gateway_sink_errors_total": ("sink_errors", "counter",
                                         "frames the sink did not make durable (no 9014)"),
    "bishui_gateway_connections_open": ("connections_open", "gauge", "open connections"),
    "bishui_gateway_connections_total": ("connections_total", "counter", "connections accepted"),
    "bishui_gateway_bytes_received_total": ("bytes_received", "counter", "bytes received"),
    "bishui_gateway_heartbeats_total": ("heartbeats", "counter", "heartbeats received"),
    # issue 21: behind a balancer (docs/hj212.md, "Behind a load balancer")
    "bishui_gateway_connections_refused_untrusted_total": (
        "connections_refused_untrusted", "counter",
        "connections refused: not from trusted_proxies (proxy_protocol on)"),
    "bishui_gateway_connections_proxy_timeout_total": (
        "connections_proxy_timeout", "counter",
        "connections closed: no whole PROXY header within frame_timeout"),
}  # fmt: skip


def gateway_collector(gateway: Gateway) -> Callable[[], list[metrics.Family]]:
    """The gateway's own counters (:meth:`Gateway.metrics`), read at every scrape."""

    def collect() -> list[metrics.Family]:
        m = gateway.metrics()
        out: list[metrics.Family] = [
            (name, kind, help, [("", {}, float(m[key]))])
            for name, (key, kind, help) in GATEWAY_METRICS.items()
        ]
        rejected = [("", {"reason": r}, float(n)) for r, n in sorted(m["frames_rejected"].items())]
        out.append(
            ("bishui_gateway_rejections_total", "counter", "frames rejected, by reason", rejected)
        )
        return out

    return collect


async def run_platform(
    store: Store,
    config: PlatformConfig,
    stop: asyncio.Event | None = None,
    ready: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run until *stop* is set (or SIGINT/SIGTERM); return the gateway's final metrics."""
    settings = web_settings(config) if config.web else None  # refuse before listening
    if config.alerts is not None:  # so does a sender named without its address
        from bishui.enforcement import senders

        senders.registry_from_config(config.alerts)
    # Both ports are bound before anything is announced: a port in use is a clear error, and
    # no success banner is printed first.
    web_socket = None
    if config.web:
        web_socket = listen(
            config.web_host, config.web_port, "web", config.port_hints["web"], config.reuse_port
        )
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    directory = DeviceDirectory(store)
    grid = _grid_intake(store, config, directory)  # a bad key or URL: refused before starting
    sink: Any = None
    bus_connection = None
    if not config.gateway:
        pass
    elif config.bus:
        from bishui.ingest.bus import JetStreamSink

        sink, bus_connection = await JetStreamSink.connect(
            config.bus, config.bus_max_pending, config.bus_dedup_window
        )
    else:
        window = None if config.backfill_days is None else dt.timedelta(days=config.backfill_days)
        sink = StoreSink(store, directory, backfill_window=window)
    gateway = Gateway(
        directory.lookup,
        sink,
        host=config.gateway_host,
        port=config.gateway_port,
        limits=config.limits,
    )
    try:
        if config.gateway:
            await gateway.start()
    except OSError as exc:
        if web_socket is not None:
            web_socket.close()
        if bus_connection is not None:
            await bus_connection.close()
        elif sink is not None:
            await sink.close()
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            raise _in_use(
                "HJ 212 gateway", config.gateway_host, config.gateway_port,
                config.port_hints["gateway"], exc.errno,
            ) from exc  # fmt: skip
        raise
    db_path = getattr(store, "path", None) if store.dialect == "duckdb" else None
    commands = None
    if config.control and db_path and db_path != ":memory:":
        commands = await control.serve(store, db_path)
    if grid is not None:
        await grid.start()
    tasks = []
    if config.jobs:
        tasks.append(
            asyncio.create_task(_aggregator(store, stop, config.aggregate_every, config.refresh))
        )
    if config.jobs:
        tasks.append(asyncio.create_task(_maintainer(store, stop, config)))
    if config.jobs and config.alerts is not None:
        tasks.append(asyncio.create_task(_deliverer(store, stop, config.alerts)))
    if config.gateway:
        metrics.REGISTRY.collector("gateway", gateway_collector(gateway))
    metrics_server = None
    if config.metrics_port is not None:
        metrics_server = await metrics.serve(config.metrics_host, config.metrics_port)
    server = None
    if config.web:
        server = _web_server(store, settings)
        tasks.append(asyncio.create_task(server.serve(sockets=[web_socket])))
    extra = [asyncio.create_task(t(stop, gateway.port)) for t in config.extra_tasks]
    if ready:
        web_port = web_socket.getsockname()[1] if web_socket is not None else config.web_port
        info = {"gateway_port": gateway.port if config.gateway else None, "web_port": web_port}
        if metrics_server is not None:
            info["metrics_port"] = metrics_server.sockets[0].getsockname()[1]
        ready(info)
    try:
        await stop.wait()
    finally:
        for t in extra:
            t.cancel()
        await asyncio.gather(*extra, return_exceptions=True)
        if config.gateway:
            await gateway.stop()
        if grid is not None:
            await grid.stop()
        if db_path:
            await control.close(commands, db_path)
        if bus_connection is not None:
            await bus_connection.close()
        elif sink is not None:
            await sink.close()
        if metrics_server is not None:
            metrics_server.close()
        metrics.REGISTRY.collector("gateway", None)
        if server is not None:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)
    result: dict[str, Any] = gateway.metrics()
    if grid is not None:
        result["mqtt"] = grid.metrics()
    return result
