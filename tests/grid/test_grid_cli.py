"""``bishui grid key``: the device key from the platform key, read by reference only; the
redelivery keys (``grid_message``) pruned by ``bishui store retention`` and the maintenance
pass after ``platform.mqtt_dedup_days``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bishui.cli import main
from bishui.grid.payload import device_key
from bishui.runtime import PlatformConfig, maintain_store
from bishui.store import Store, open_store
from bishui.timeutil import now_beijing


def test_grid_key_prints_the_derived_key_and_refuses_a_bad_reference(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BISHUI_MQTT_SECRET", "s" * 40)
    r = CliRunner().invoke(main, ["grid", "key", "G1"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == device_key(b"s" * 40, "G1").hex()
    monkeypatch.setenv("BISHUI_MQTT_SECRET", "short")
    r = CliRunner().invoke(main, ["grid", "key", "G1"])
    assert r.exit_code != 0 and "32 bytes" in r.output
    r = CliRunner().invoke(main, ["grid", "key", "--mqtt-key", "s" * 40, "G1"])
    assert r.exit_code != 0 and "env:NAME or file:/path" in r.output and "sss" not in r.output


def _received(store: Store, ages_days: list[int], now: dt.datetime) -> None:
    """Keys received *ages_days* before *now*."""
    with store.transaction() as tx:
        tx.insert_rows("grid_message", ("key", "device_id", "digest", "received_at", "verdict"),
                       [(f"G1/{n}/x", "G1", "d" * 64, now - dt.timedelta(days=a), "accepted")
                        for n, a in enumerate(ages_days)])  # fmt: skip


def test_store_retention_prunes_the_old_redelivery_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = str(tmp_path / "bishui.duckdb")
    store = open_store(db)
    _received(store, [400, 40, 1], now_beijing())
    store.close()
    monkeypatch.delenv("BISHUI_MQTT_DEDUP_DAYS", raising=False)
    args = ["store", "retention", "--db", db, "--minute-retention-days", "100"]
    r = CliRunner().invoke(main, [*args, "--dry-run"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["grid_message"]["rows_deleted"] == 2  # the default: 30 d
    r = CliRunner().invoke(main, [*args, "--mqtt-dedup-days", "365"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["grid_message"]["rows_deleted"] == 1
    r = CliRunner().invoke(main, [*args, "--mqtt-dedup-days", "0"])
    assert r.exit_code != 0 and "--mqtt-dedup-days" in r.output  # never a window of nothing
    store = open_store(db)
    assert store.count("grid_message") == 2
    store.close()


def test_the_maintenance_pass_prunes_them_too(store: Store) -> None:
    now = dt.datetime(2026, 12, 7, 17, 30)
    _received(store, [31, 29], now)
    done = maintain_store(store, now, PlatformConfig(mqtt_dedup_days=30))
    assert done["grid_message"] == {"cutoff": "2026-11-07 17:30:00", "rows_deleted": 1,
                                    "dry_run": False}  # fmt: skip
    assert done["retention"]["cutoff"] is None  # minute retention off: nothing else removed
    assert store.count("grid_message") == 1
