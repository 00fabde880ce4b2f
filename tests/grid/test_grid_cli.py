"""``bishui grid key``: the device key from the platform key, read by reference only."""

from __future__ import annotations

from click.testing import CliRunner

from bishui.cli import main
from bishui.grid.payload import device_key


def test_grid_key_prints_the_derived_key_and_refuses_a_bad_reference(monkeypatch) -> None:
    monkeypatch.setenv("BISHUI_MQTT_SECRET", "s" * 40)
    r = CliRunner().invoke(main, ["grid", "key", "G1"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == device_key(b"s" * 40, "G1").hex()
    monkeypatch.setenv("BISHUI_MQTT_SECRET", "short")
    r = CliRunner().invoke(main, ["grid", "key", "G1"])
    assert r.exit_code != 0 and "32 bytes" in r.output
    r = CliRunner().invoke(main, ["grid", "key", "--mqtt-key", "s" * 40, "G1"])
    assert r.exit_code != 0 and "env:NAME or file:/path" in r.output and "sss" not in r.output
