"""Every setting of the running platform, declared once: the gateway, aggregation, the bus and
the web.

One :class:`Setting` per value a deployment can set, with its default, meaning, environment
variable (``BISHUI_…``) and, where it has one, its command-line option. The options of
``bishui serve`` and ``bishui drain`` are made from these declarations (:func:`option`), and
docs/settings.md prints :func:`settings_table` (``tests/test_settings.py`` checks the page is
current and that every option and variable works).

Three are declared where their values are used and only gathered here: ``--db``
(:data:`bishui.cli_options.DB`: every command takes it, the domains' commands too, and they
import only the base layer), the gateway's
limits (:class:`bishui.hj212.gateway.GatewayLimits`, one ``--gateway-<field>`` option and one
``BISHUI_GATEWAY_<FIELD>`` variable each) and the web's settings
(:class:`bishui.web.settings.Settings`, ``BISHUI_WEB_<FIELD>``). The bus's stream name is read
by :mod:`bishui.ingest.bus` itself when it is imported (a domain does not import the
application), under the name declared here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from bishui.cli_options import DB, Setting, option
from bishui.hj212.gateway import GatewayLimits
from bishui.web.settings import Settings as WebSettings

__all__ = ["GATEWAY", "PLATFORM", "SETTINGS", "VEHICLES", "WEB", "Setting", "option", "setting",
           "settings_table"]  # fmt: skip

_BACKFILL = click.FloatRange(min=0, min_open=True)

#: The platform's own settings (``bishui serve``, ``bishui drain``; bishui.runtime.PlatformConfig),
#: the store's first: ``--db`` of every command, declared in the base layer
#: (:data:`bishui.cli_options.DB`) because the domains' commands take it too.
PLATFORM: tuple[Setting, ...] = (
    DB,
    Setting("platform", "gateway_host", "127.0.0.1", "HJ 212 address",
            "BISHUI_GATEWAY_HOST", "--gateway-host"),
    Setting("platform", "gateway_port", 9212, "HJ 212 port",
            "BISHUI_GATEWAY_PORT", "--gateway-port"),
    Setting("platform", "aggregate_every", 60.0,
            "time between the passes that recompute the platform's hourly and daily values "
            "and refresh the engines", "BISHUI_AGGREGATE_EVERY", "--aggregate-every", "s",
            click.FloatRange(min=0, min_open=True)),
    Setting("platform", "backfill_days", 30.0,
            "data older than this (by DataTime) is quarantined too_old for review",
            "BISHUI_BACKFILL_DAYS", "--backfill-days", "d", _BACKFILL),
    Setting("platform", "bus", None,
            "NATS JetStream server (nats://HOST:PORT): serve publishes frames there instead of "
            "writing the store, drain writes them", "BISHUI_BUS", "--bus"),
    Setting("platform", "bus_stream", "BISHUI_INGEST",
            "JetStream stream of the bus (another name: several deployments on one server); "
            "read when bishui.ingest.bus is imported", "BISHUI_BUS_STREAM"),
    Setting("platform", "mqtt", None,
            "MQTT broker of the grid sensors (mqtt://HOST[:PORT][?client_id=ID]): serve and "
            "demo take their messages (docs/grid.md); none: no MQTT intake", "BISHUI_MQTT",
            "--mqtt"),
    Setting("platform", "mqtt_key", "env:BISHUI_MQTT_SECRET",  # bishui.grid.keys
            "reference (env:NAME or file:/path, never the key) to the platform key the grid "
            "sensors' signing keys derive from (at least 32 bytes)", "BISHUI_MQTT_KEY",
            "--mqtt-key"),
    Setting("platform", "mqtt_group", None,
            "shared-subscription group of the MQTT intakes ($share/GROUP/…): every intake "
            "of the group, each with its own client_id, takes a share of the grid sensors' "
            "messages (docs/grid.md); none: one intake takes them all", "BISHUI_MQTT_GROUP",
            "--mqtt-group"),
    Setting("platform", "mqtt_dedup_days", 30,
            "keys of the MQTT messages written (grid_message) are kept this long after their "
            "receipt to recognise a broker's redelivery, then pruned by bishui store retention "
            "and the maintenance pass: at least as long as the broker may hold an intake's "
            "unacknowledged messages (docs/grid.md)", "BISHUI_MQTT_DEDUP_DAYS",
            "--mqtt-dedup-days", "d", click.IntRange(min=1)),
    # scale-out (issue 21; docs/deploy.md): the bus's bound, windows, and the metrics listener
    Setting("platform", "bus_max_pending", 1_000_000,
            "messages the stream holds for the writers before it refuses new ones: beyond it "
            "the gateways send no 9014 (backpressure; the loggers keep and resend their data)",
            "BISHUI_BUS_MAX_PENDING", "--bus-max-pending", "", click.IntRange(min=1)),
    Setting("platform", "bus_dedup_window", 600.0,
            "JetStream's duplicate window: a frame resent within it (same MN, QN, CN, PNO), to "
            "any gateway, is stored once", "BISHUI_BUS_DEDUP_WINDOW", "--bus-dedup-window", "s",
            click.FloatRange(min=1)),
    Setting("platform", "bus_ack_wait", 60.0,
            "a writer's time to acknowledge a message before JetStream hands it to another "
            "writer (a writer that died); bishui drain --bus-ack-wait", "BISHUI_BUS_ACK_WAIT",
            None, "s", click.FloatRange(min=1)),
    Setting("platform", "metrics_host", "127.0.0.1",
            "address of the /metrics listener of --metrics-port", "BISHUI_METRICS_HOST",
            "--metrics-host"),
    Setting("platform", "metrics_port", None,
            "port of a /metrics listener of its own (Prometheus text format, no login: bind "
            "it privately); none: no listener (the web's /metrics is for admins)",
            "BISHUI_METRICS_PORT", "--metrics-port", "", click.IntRange(min=0, max=65535)),
    # PostgreSQL at scale (issue 21 item 3; docs/postgresql.md): partitions and retention
    Setting("platform", "minute_retention_days", None,
            "minute and real-time values older than this are dropped (hourly and daily values "
            "are kept for ever; nothing not yet aggregated is dropped) by bishui store "
            "retention and the maintenance pass; none: kept for ever",
            "BISHUI_MINUTE_RETENTION_DAYS", "--minute-retention-days", "d",
            click.IntRange(min=1)),
    # the web under load (issue 21 item 6; docs/benchmarks.md "The web under load")
    Setting("platform", "event_loop", "auto",
            "the event loop of serve and drain: uvloop (libuv; about half the CPU per web "
            "request of asyncio's own, docs/benchmarks.md), asyncio, or auto: uvloop where "
            "it is installed", "BISHUI_EVENT_LOOP", "--event-loop", "",
            click.Choice(["auto", "uvloop", "asyncio"])),
    Setting("platform", "maintain_every", 3600.0,
            "time between the maintenance passes: the store's partitions created ahead, then "
            "retention", "BISHUI_MAINTAIN_EVERY", "--maintain-every", "s",
            click.FloatRange(min=0, min_open=True)),
)  # fmt: skip


#: Alert delivery (bishui.enforcement.delivery, bishui.enforcement.senders; docs/alerts.md):
#: environment only. ``secret=True`` values (robot addresses carry their key) are read from
#: the environment, never shown, never logged.
ALERTS: tuple[Setting, ...] = (
    Setting("alerts", "channels", "log",
            "channels beside the in-app bell that routing rules may use, comma-separated: "
            "log, sms, wecom, dingtalk", "BISHUI_ALERTS_CHANNELS"),
    Setting("alerts", "deliver_every", 10.0, "time between the passes that send the outbox",
            "BISHUI_ALERTS_DELIVER_EVERY", unit="s", kind=float),
    Setting("alerts", "max_attempts", 5, "attempts before a message is marked failed",
            "BISHUI_ALERTS_MAX_ATTEMPTS", kind=int),
    Setting("alerts", "retry_seconds", 30.0,
            "wait before the first retry, doubling with each further attempt",
            "BISHUI_ALERTS_RETRY_SECONDS", unit="s", kind=float),
    Setting("alerts", "timeout", 5.0, "HTTP timeout of one delivery", "BISHUI_ALERTS_TIMEOUT",
            unit="s", kind=float),
    Setting("alerts", "sms_url", "", "the SMS gateway's address (http/https)",
            "BISHUI_ALERTS_SMS_URL"),
    Setting("alerts", "sms_user", "", "the SMS gateway's user (HTTP Basic; none: no credentials)",
            "BISHUI_ALERTS_SMS_USER"),
    Setting("alerts", "sms_password", "", "the SMS gateway's password (secret)",
            "BISHUI_ALERTS_SMS_PASSWORD", secret=True),
    Setting("alerts", "sms_template", "$subject $body",
            "the SMS text: $subject and $body", "BISHUI_ALERTS_SMS_TEMPLATE"),
    Setting("alerts", "sms_body", '{"to": $to, "text": $text}',
            "the JSON posted to the gateway per number: $to and $text (filled in as JSON "
            "strings)", "BISHUI_ALERTS_SMS_BODY"),
    Setting("alerts", "wecom_webhook", "",
            "the WeChat Work group robot's webhook address with its key (secret)",
            "BISHUI_ALERTS_WECOM_WEBHOOK", secret=True),
    Setting("alerts", "wecom_msgtype", "markdown", "text or markdown",
            "BISHUI_ALERTS_WECOM_MSGTYPE"),
    Setting("alerts", "dingtalk_webhook", "",
            "the DingTalk custom robot's webhook address with its access_token (secret)",
            "BISHUI_ALERTS_DINGTALK_WEBHOOK", secret=True),
    Setting("alerts", "dingtalk_secret", "",
            "the DingTalk robot's signing secret (加签, SEC…; none: unsigned) (secret)",
            "BISHUI_ALERTS_DINGTALK_SECRET", secret=True),
    Setting("alerts", "dingtalk_msgtype", "markdown", "text or markdown",
            "BISHUI_ALERTS_DINGTALK_MSGTYPE"),
)  # fmt: skip


#: The vehicle-inspection supervision's report codes (docs/vehicles.md, "Report codes"): read by
#: ``bishui vehicles issue`` itself through these variables (a domain does not import the
#: application; tests/test_settings.py checks the command uses the declared names and defaults).
VEHICLES: tuple[Setting, ...] = (
    Setting("vehicles", "report_key_file", "",
            "the report-signing key file (a 32-byte Ed25519 seed in hex; none: --key-file "
            "must be given) (secret: keep the file readable by the issuer only)",
            "BISHUI_VEHICLES_REPORT_KEY_FILE"),
    Setting("vehicles", "report_key_id", "",
            "the id of the signing key, published with its public key (none: --key-id must be "
            "given)", "BISHUI_VEHICLES_REPORT_KEY_ID"),
    Setting("vehicles", "report_base_url", "https://hbj.jingmen.gov.cn/vehicles",
            "the public report lookup's base URL a report's QR code opens (<base>/r/<report no>)",
            "BISHUI_VEHICLES_REPORT_BASE_URL"),
    Setting("vehicles", "box_host", "127.0.0.1",
            "the black boxes' TCP listener address (signed captures in HJ 212 frames)",
            "BISHUI_VEHICLES_BOX_HOST", "--box-host"),
    Setting("vehicles", "box_port", None,
            "the black boxes' TCP listener port (none: no listener; the boxes post their "
            "frames to POST /api/v1/vehicles/frames)", "BISHUI_VEHICLES_BOX_PORT", "--box-port",
            kind=int),
)  # fmt: skip


def alerts_config(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``alerts.*`` values from the environment (defaults where unset), by name — what
    :func:`bishui.enforcement.senders.registry_from_config` takes. Holds secrets: never log it."""
    import os

    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for s in ALERTS:
        raw = env.get(s.env)
        if raw is None or raw == "":
            out[s.name] = s.default
            continue
        try:
            out[s.name] = s.kind(raw) if s.kind in (int, float) else raw
        except ValueError as exc:
            from bishui.errors import ConfigError

            raise ConfigError(s.env, f"a {s.kind.__name__}", raw) from exc
    return out


def _gateway() -> tuple[Setting, ...]:
    out = []
    for f in dataclasses.fields(GatewayLimits):
        out.append(
            Setting(
                "gateway",
                f.name,
                f.default,
                f.metadata.get("help", ""),
                "BISHUI_GATEWAY_" + f.name.upper(),
                "--gateway-" + f.name.replace("_", "-"),
                f.metadata.get("unit", ""),
                {"int": int, "float": float, "bool": bool}.get(str(f.type).split(" ")[0]),
            )
        )
    return tuple(out)


def _web() -> tuple[Setting, ...]:
    # bishui serve sets host and port from its own --host/--port (their defaults included),
    # which therefore win over BISHUI_WEB_HOST/PORT there.
    options = {"host": "--host", "port": "--port"}
    return tuple(
        Setting(
            "web",
            f.name,
            f.default,
            f.metadata["help"],
            f"BISHUI_WEB_{f.name.upper()}",
            options.get(f.name),
        )
        for f in dataclasses.fields(WebSettings)
    )


#: The gateway's limits, one per GatewayLimits field.
GATEWAY: tuple[Setting, ...] = _gateway()
#: The web's settings, one per bishui.web.settings.Settings field.
WEB: tuple[Setting, ...] = _web()
#: Every setting, in the order docs/settings.md lists them.
SETTINGS: tuple[Setting, ...] = PLATFORM + GATEWAY + WEB + ALERTS + VEHICLES


def setting(key: str) -> Setting:
    """The setting named ``group.name``."""
    for s in SETTINGS:
        if s.key == key:
            return s
    raise KeyError(key)


def _shown(value: Any) -> str:
    if value is None or value == "" or value == ():
        return "(none)"
    if isinstance(value, tuple):
        value = ",".join(value)
    return f"`{value}`"


def settings_table() -> str:
    """A Markdown table of every setting (for docs/settings.md)."""
    lines = [
        "| setting | environment | option | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in SETTINGS:
        opt = f"`{s.option}`" if s.option else "—"
        unit = f" [{s.unit}]" if s.unit else ""
        lines.append(f"| `{s.key}` | `{s.env}` | {opt} | {_shown(s.default)} | {s.help}{unit} |")
    return "\n".join(lines)
