"""``bishui.control`` in pieces (the whole, against a running demo: tests/demo/
test_demo_running.py): arguments made absolute, what is never handed over, bad requests."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bishui import control
from bishui.cli import main
from bishui.store import Store, open_store


def test_relative_paths_are_made_absolute() -> None:
    cwd = "/home/me/work"
    fix = control.absolute_paths
    assert fix(main, ["import", "data.csv"], cwd) == ["import", "/home/me/work/data.csv"]
    assert fix(main, ["import", "--db", "d/b.duckdb", "/abs.csv"], cwd) == [
        "import", "--db", "/home/me/work/d/b.duckdb", "/abs.csv",
    ]  # fmt: skip
    assert fix(main, ["air", "realtime", "--out=rt.xlsx", "--scope", "city"], cwd) == [
        "air", "realtime", "--out=/home/me/work/rt.xlsx", "--scope", "city",
    ]  # fmt: skip
    # URLs, "-" and option values that are not paths stay as they are
    assert fix(main, ["air", "realtime", "--db", "postgresql://h/db", "--scope", "x.csv"], cwd)[
        2:
    ] == ["--db", "postgresql://h/db", "--scope", "x.csv"]
    assert fix(main, ["users", "list", "--db", "-"], cwd)[-1] == "-"
    assert fix(main, ["nosuch", "a.csv"], cwd) == ["nosuch", "a.csv"]


def test_what_is_never_handed_over(tmp_path: Path) -> None:
    db = str(tmp_path / "x.duckdb")
    assert control.forward(db, ["air", "realtime"], str(tmp_path), main) is None  # no socket
    for cmd in ("demo", "serve", "drain"):
        assert control.forward(db, [cmd], str(tmp_path), main) is None
        reply = control.run(None, db, [cmd])
        assert reply["exit_code"] == 2 and "does not run inside" in reply["stderr"]


async def test_the_socket_answers_and_refuses_bad_requests(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    store: Store = open_store(db)
    server = await control.serve(store, db)
    try:
        path = control.socket_path(db)
        assert path.stat().st_mode & 0o777 == 0o600

        async def ask(line: bytes) -> dict[str, object]:
            reader, writer = await asyncio.open_unix_connection(str(path))
            writer.write(line)
            await writer.drain()
            reply: dict[str, object] = json.loads(await reader.read())
            writer.close()
            return reply

        for bad in (b"not json\n", b'{"argv": "users list"}\n', b'{"argv": [], "input": 3}\n'):
            reply = await ask(bad)
            assert reply["exit_code"] == 2 and "bad request" in str(reply["stderr"])
        reply = await ask(json.dumps({"argv": ["users", "list", "--db", str(db)]}).encode() + b"\n")
        assert reply["exit_code"] == 0, reply
        # the command ran on the lent store: the store is still open afterwards
        assert store.query("SELECT 1 AS one") == [{"one": 1}]
    finally:
        await control.close(server, db)
        store.close()
    assert not control.socket_path(db).exists()


def test_a_held_store_hands_the_command_over(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The ``bishui`` command, in process: its store is "held" (StoreBusy, as DuckDB reports a
    file another process holds), a platform's socket answers for it, and the command's output
    and exit code are the platform's run of it."""
    import threading

    from click.testing import CliRunner

    from bishui.errors import StoreBusy
    from bishui.web import cli as web_cli

    db = tmp_path / "held.duckdb"
    store = open_store(db)
    real = web_cli.open_store

    def held(url: str) -> Store:
        if getattr(control._inside, "active", False):  # the platform's own run: its store
            return real(url)
        raise StoreBusy(f"the DuckDB file {url} is in use by another process", str(db))

    monkeypatch.setattr(web_cli, "open_store", held)
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(control.serve(store, db))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        # no --db: BISHUI_DB names it here; the held file is passed on as --db
        monkeypatch.setenv("BISHUI_DB", str(db))
        r = CliRunner().invoke(main, ["users", "add", "--role", "analyst", "--password-stdin",
                                      "handed"], input="a long enough password 16\n")  # fmt: skip
        assert r.exit_code == 0, r.output
        monkeypatch.delenv("BISHUI_DB")
        r = CliRunner().invoke(main, ["users", "list", "--db", str(db)])
        assert r.exit_code == 0 and "handed" in r.output
        r = CliRunner().invoke(main, ["users", "disable", "--db", str(db), "nobody"])
        assert r.exit_code != 0  # the platform's exit code comes back
    finally:
        asyncio.run_coroutine_threadsafe(control.close(server, db), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
    # no platform answers any more: a clear message, status 2
    r = CliRunner().invoke(main, ["users", "list", "--db", str(db)])
    assert r.exit_code == 2 and "No running bishui platform answers" in r.output
    store.close()


async def test_no_socket_where_none_can_be_made(tmp_path: Path) -> None:
    """A path too long for a Unix socket, or a directory that refuses one: the platform runs
    on without the hand-over (a warning), never fails to start."""
    deep = tmp_path / ("d" * 120)
    assert await control.serve(None, deep / "x.duckdb") is None
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        import os

        if os.geteuid() != 0:  # root may write anywhere
            assert await control.serve(None, ro / "x.duckdb") is None
    finally:
        ro.chmod(0o700)
    await control.close(None, deep / "x.duckdb")  # nothing to close
