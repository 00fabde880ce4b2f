"""Every setting declared once (bishui.settings): the docs list each with its default and its
environment variable, and each option and variable reaches the value it names."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bishui import core_cli, settings
from bishui.hj212.gateway import GatewayLimits
from bishui.runtime import PlatformConfig
from bishui.web import settings as web_settings

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")


def test_the_settings_page_is_current() -> None:
    assert settings.settings_table() in DOC


def test_the_docs_list_every_setting_with_its_default_and_variable() -> None:
    rows = {line.split("|")[1].strip(): line for line in DOC.splitlines() if line.startswith("|")}
    for s in settings.SETTINGS:
        row = rows[f"`{s.key}`"]
        assert f"`{s.env}`" in row, s.key
        shown = "(none)" if s.default in (None, "") else str(s.default)
        if isinstance(s.default, tuple):
            shown = ",".join(s.default)
        assert shown in row, s.key
    assert len({s.env for s in settings.SETTINGS}) == len(settings.SETTINGS)


def test_every_declared_group_is_gathered() -> None:
    assert [s.name for s in settings.GATEWAY] == [f.name for f in dataclasses.fields(GatewayLimits)]
    assert [s.name for s in settings.WEB] == [
        f.name for f in dataclasses.fields(web_settings.Settings)
    ]
    # the platform's defaults are the running platform's own
    config = PlatformConfig()
    for name in ("gateway_host", "gateway_port", "aggregate_every", "backfill_days", "bus"):
        assert getattr(config, name) == settings.setting(f"platform.{name}").default, name
    assert (config.web_host, config.web_port) == (
        settings.setting("web.host").default,
        settings.setting("web.port").default,
    )


def test_the_store_option_is_declared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # --db of every command, the domains' too, is the declared platform.db
    from bishui import cli_options
    from bishui.air import cli as air_cli

    db = settings.setting("platform.db")
    assert db is cli_options.DB and db.default == cli_options.DEFAULT_DB
    monkeypatch.delenv("BISHUI_DB", raising=False)
    assert _params(core_cli.serve, [])["db_url"] == db.default
    monkeypatch.setenv("BISHUI_DB", "other.duckdb")
    assert _params(core_cli.serve, [])["db_url"] == "other.duckdb"
    assert _params(core_cli.serve, ["--db", "x.duckdb"])["db_url"] == "x.duckdb"
    command = next(iter(air_cli.air.commands.values()))  # type: ignore[attr-defined]
    assert "--db" in {o for p in command.params for o in p.opts}


def _params(command: object, args: list[str]) -> dict[str, object]:
    ctx = command.make_context(command.name, args)  # type: ignore[attr-defined]
    return dict(ctx.params)


def test_every_option_is_on_serve() -> None:
    opts = {o for p in core_cli.serve.params for o in p.opts}
    for s in settings.SETTINGS:
        if s.option:
            assert s.option in opts, s.key


def test_options_keep_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for s in settings.SETTINGS:
        monkeypatch.delenv(s.env, raising=False)
    p = _params(core_cli.serve, ["--db", "x.duckdb"])
    assert (p["gateway_host"], p["gateway_port"]) == ("127.0.0.1", 9212)
    assert (p["backfill_days"], p["aggregate_every"], p["bus"]) == (30.0, 60.0, None)
    # a limit not given is left to GatewayLimits' own default
    assert core_cli.gateway_limits(p) == GatewayLimits()


def test_variables_reach_serve_and_drain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BISHUI_GATEWAY_PORT", "19212")
    monkeypatch.setenv("BISHUI_BACKFILL_DAYS", "7")
    monkeypatch.setenv("BISHUI_AGGREGATE_EVERY", "5")
    monkeypatch.setenv("BISHUI_BUS", "nats://127.0.0.1:4222")
    monkeypatch.setenv("BISHUI_GATEWAY_IDLE_TIMEOUT", "30")
    monkeypatch.setenv("BISHUI_GATEWAY_ACK_FLAGLESS_UPLOADS", "1")
    p = _params(core_cli.serve, ["--db", "x.duckdb", "--gateway-port", "9000"])
    assert p["gateway_port"] == 9000  # the option wins over the variable
    assert (p["backfill_days"], p["aggregate_every"]) == (7.0, 5.0)
    assert p["bus"] == "nats://127.0.0.1:4222"
    limits = core_cli.gateway_limits(p)
    assert limits.idle_timeout == 30.0 and limits.ack_flagless_uploads is True
    d = _params(core_cli.drain, ["--db", "x.duckdb"])  # --bus required: the variable gives it
    assert (d["bus"], d["backfill_days"]) == ("nats://127.0.0.1:4222", 7.0)


def test_web_variables_are_the_declared_names() -> None:
    for s in settings.WEB:
        assert s.env == f"BISHUI_WEB_{s.name.upper()}"
    got = web_settings.from_env({settings.setting("web.page_size").env: "20"})
    assert got.page_size == 20


def test_the_bus_reads_the_declared_stream_variable() -> None:
    # bishui.ingest.bus (a domain) reads its variable itself: the name and default must be these
    from bishui.ingest import bus

    s = settings.setting("platform.bus_stream")
    source = Path(bus.__file__).read_text(encoding="utf-8")
    assert f'os.environ.get("{s.env}", "{s.default}")' in source


def test_the_vehicles_issue_command_reads_the_declared_variables() -> None:
    # bishui vehicles issue (a domain's command) reads its variables itself
    from bishui.vehicles import cli as vehicles_cli

    cmd = vehicles_cli.vehicles.commands["issue"]  # type: ignore[attr-defined]
    params = {p.name: p for p in cmd.params}
    for name, param in (("report_key_file", "key_file"), ("report_key_id", "key_id"),
                        ("report_base_url", "base_url")):  # fmt: skip
        s = settings.setting(f"vehicles.{name}")
        assert params[param].envvar == s.env, name
        if s.default:
            assert params[param].default == s.default, name
