"""``bishui grid``: provisioning keys for grid sensors and sending a test message
(docs/grid.md)."""

from __future__ import annotations

import datetime as dt

import click

from bishui.errors import InputError
from bishui.grid.keys import DEFAULT_REFERENCE, platform_key
from bishui.grid.payload import PERIODS, device_key, encode

_KEY = click.option(
    "--mqtt-key",
    envvar="BISHUI_MQTT_KEY",
    default=DEFAULT_REFERENCE,
    show_default=True,
    metavar="env:NAME|file:/path",
    help="reference to the platform key (setting platform.mqtt_key)",
)


@click.group()
def grid() -> None:
    """网格化监测: grid micro-stations and construction-dust monitors over MQTT."""


@grid.command("key")
@_KEY
@click.argument("device")
def key_cmd(mqtt_key: str, device: str) -> None:
    """Print DEVICE's signing key (64 hex digits = 32 bytes) to load into the sensor."""
    click.echo(device_key(platform_key(mqtt_key), device).hex())


@grid.command("publish")
@_KEY
@click.option("--mqtt", "url", envvar="BISHUI_MQTT", required=True, metavar="mqtt://HOST:PORT")
@click.option("--city", default="420800", show_default=True, help="GB/T 2260 code")
@click.option("--device", required=True, help="the device id (its registry MN)")
@click.option("--seq", type=click.IntRange(0, 2**63 - 1), required=True)
@click.option("--time", "when", help="ISO 8601 with offset (default: the last whole minute)")
@click.option("--period", type=click.Choice(PERIODS), default="min", show_default=True)
@click.option("--unit", default="μg/m³", show_default=True)
@click.argument("values", nargs=-1, required=True, metavar="CODE=NUMBER…")
def publish_cmd(
    mqtt_key: str, url: str, city: str, device: str, seq: int, when: str | None, period: str,
    unit: str, values: tuple[str, ...],
) -> None:  # fmt: skip
    """Sign and publish one message (QoS 1) as a sensor would, e.g. a34004=35 a34002=61."""
    from bishui.errors import ConfigError
    from bishui.grid.simulator import connect, wait_connected

    vals: dict[str, tuple[str, str, str]] = {}
    for v in values:
        code, _, number = v.partition("=")
        if not number:
            raise InputError("values", "CODE=NUMBER", v)
        vals[code] = (number, unit, "N")
    beijing = dt.timezone(dt.timedelta(hours=8))
    at = (
        dt.datetime.fromisoformat(when)
        if when
        else dt.datetime.now(beijing).replace(second=0, microsecond=0) - dt.timedelta(minutes=1)
    )
    if at.tzinfo is None:
        raise InputError("time", "ISO 8601 with an offset", when)
    topic, payload = encode(city, device, seq, at, vals,
                            device_key(platform_key(mqtt_key), device), period)  # fmt: skip
    client = connect(url, client_id=f"bishui-grid-publish-{device}")
    try:
        if not wait_connected(client):
            raise ConfigError("--mqtt", "a broker that answers", url)
        info = client.publish(topic, payload, qos=1)
        info.wait_for_publish(10)
    finally:
        client.disconnect()
        client.loop_stop()
    click.echo(topic)
    click.echo(payload.decode("utf-8"))  # as sent: the numbers exactly as signed
