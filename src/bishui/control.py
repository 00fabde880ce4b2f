"""The ``bishui`` command while the platform runs: store commands handed to the platform.

DuckDB lets one process open a file, so while ``bishui demo`` or ``bishui serve`` holds
``bishui-data/bishui.duckdb`` every other process that opens it fails with DuckDB's "Could not
set lock on file" — reading as much as writing (a read-only open is refused too while a
writer holds the file). The platform therefore offers its store to the ``bishui`` command:

* the platform listens on a Unix socket beside the file, ``<file>.cli.sock``, mode 0600 (only
  the file's owner, who could open the file anyway, may use it);
* a ``bishui`` command that finds the file held (:class:`bishui.errors.StoreBusy`) sends its
  arguments there, with relative paths made absolute against its own working directory;
* the platform runs the command in its own process, on its own store (one writer: the
  command's writes queue behind the platform's, :func:`bishui.store.lending`), one command at
  a time, and sends back the output and the exit code, which the command prints and exits with.

Reads and writes both work, with the same output as on a free file; files a command writes
(``--out``) are written by the platform's process. ``demo``, ``serve`` and ``drain`` are never
handed over (they run a platform of their own). PostgreSQL has no such lock: nothing of this
is used there. docs/demo.md and docs/cli.md ("While the platform runs") describe it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import stat
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

log = logging.getLogger("bishui")

#: The socket beside the store's file.
SOCKET_SUFFIX = ".cli.sock"
#: Commands never handed to a running platform.
NOT_FORWARDED = frozenset({"demo", "serve", "drain"})
#: Largest request accepted [bytes] (a command line).
MAX_REQUEST = 256 * 1024
#: Longest Unix socket path the kernel takes (sun_path, less the NUL).
MAX_SOCKET_PATH = 107

_command: click.Command | None = None
_run_lock = threading.Lock()
_inside = threading.local()


def set_command(command: click.Command) -> None:
    """Register the ``bishui`` command group the platform runs handed-over commands with."""
    global _command
    _command = command


def socket_path(db_path: str | Path) -> Path:
    return Path(os.path.realpath(db_path) + SOCKET_SUFFIX)


def _first_word(argv: Sequence[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


# -- the platform's side ---------------------------------------------------------------------
def run(
    store: Any, db_path: str | Path, argv: list[str], data: str | None = None
) -> dict[str, Any]:
    """Run ``bishui <argv>`` in this process on *store* (*data* its stdin); its stdout, stderr
    and exit code."""
    from click.testing import CliRunner

    from bishui.store import lending

    if _command is None:
        return {"stdout": "", "stderr": "error: no bishui command registered\n", "exit_code": 2}
    if _first_word(argv) in NOT_FORWARDED:
        msg = f"error: `bishui {_first_word(argv)}` does not run inside a running platform\n"
        return {"stdout": "", "stderr": msg, "exit_code": 2}
    with _run_lock, lending(store, db_path):
        _inside.active = True
        try:
            result = CliRunner().invoke(_command, argv, input=data, prog_name="bishui")
        finally:
            _inside.active = False
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        log.error("handed-over command %s failed", argv[:2], exc_info=result.exc_info)
        stderr += f"error: {result.exception}\n"
    return {"stdout": result.stdout, "stderr": stderr, "exit_code": result.exit_code}


async def serve(store: Any, db_path: str | Path) -> asyncio.AbstractServer | None:
    """Listen for handed-over commands beside *db_path*; None where a socket cannot be made."""
    path = socket_path(db_path)
    if len(str(path)) > MAX_SOCKET_PATH or not hasattr(socket, "AF_UNIX"):
        log.warning("no command socket for %s (path too long or no Unix sockets)", db_path)
        return None
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(path.stat().st_mode):
            path.unlink()  # left by a platform that did not stop cleanly (we hold the file now)
    loop = asyncio.get_running_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            request = json.loads(line)
            argv = request["argv"]
            data = request.get("input")
            if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
                raise ValueError("argv: a list of strings")
            if data is not None and not isinstance(data, str):
                raise ValueError("input: a string")
            reply = await loop.run_in_executor(None, run, store, db_path, argv, data)
        except (ValueError, KeyError, TypeError, asyncio.LimitOverrunError) as exc:
            reply = {"stdout": "", "stderr": f"error: bad request: {exc}\n", "exit_code": 2}
        try:
            writer.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
            await writer.drain()
        finally:
            writer.close()

    old = os.umask(0o177)  # the socket is created 0600
    try:
        server = await asyncio.start_unix_server(handle, str(path), limit=MAX_REQUEST)
        path.chmod(0o600)
    except OSError as exc:  # the platform runs on; only the hand-over is missing
        log.warning("no command socket for %s: %s", db_path, exc)
        return None
    finally:
        os.umask(old)
    log.info("bishui commands on this store are run by the platform (%s)", path)
    return server


async def close(server: asyncio.AbstractServer | None, db_path: str | Path) -> None:
    if server is None:
        return
    server.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.wait_closed(), 5)
    with contextlib.suppress(FileNotFoundError):
        socket_path(db_path).unlink()


# -- the command's side ----------------------------------------------------------------------
def _path_params(command: click.Command, argv: list[str]) -> tuple[click.Command, int]:
    """The leaf command of *argv* and the index of its first argument."""
    i = 0
    while isinstance(command, click.Group):
        while i < len(argv) and argv[i].startswith("-"):
            i += 1
        if i >= len(argv):
            break
        sub = command.get_command(click.Context(command), argv[i])
        if sub is None:
            break
        command, i = sub, i + 1
    return command, i


def absolute_paths(command: click.Command, argv: list[str], cwd: str) -> list[str]:
    """*argv* with every path-valued option and argument (and ``--db``) made absolute."""
    leaf, i = _path_params(command, argv)
    out = list(argv)

    def fix(v: str) -> str:
        if v == "-" or "://" in v or os.path.isabs(v):
            return v
        return os.path.join(cwd, v)

    takes_value: dict[str, bool] = {}  # option → its value is a path
    for p in leaf.params:
        if isinstance(p, click.Option) and not p.is_flag and not p.count:
            is_path = isinstance(p.type, (click.Path, click.File)) or "--db" in p.opts
            for o in (*p.opts, *p.secondary_opts):
                takes_value[o] = is_path
    args = [p for p in leaf.params if isinstance(p, click.Argument)]
    k = 0  # the next positional argument
    while i < len(out):
        a = out[i]
        if a == "--":
            i += 1
            continue
        name, eq, value = a.partition("=")
        if a.startswith("-") and eq and name in takes_value:
            if takes_value[name]:
                out[i] = f"{name}={fix(value)}"
        elif a in takes_value:
            if takes_value[a] and i + 1 < len(out):
                out[i + 1] = fix(out[i + 1])
            i += 1
        elif not a.startswith("-") and k < len(args):
            if isinstance(args[k].type, (click.Path, click.File)):
                out[i] = fix(a)
            if args[k].nargs == 1:
                k += 1
        i += 1
    return out


def forward(db_path: str, argv: list[str], cwd: str, command: click.Command) -> int | None:
    """Hand ``bishui <argv>`` to the platform holding *db_path*; its exit code, or None where
    no platform listens (or this already runs inside one, or the command is not handed over)."""
    if getattr(_inside, "active", False) or _first_word(argv) in NOT_FORWARDED:
        return None
    path = socket_path(db_path)
    if not path.exists():
        return None
    args = absolute_paths(command, argv, cwd)
    leaf, _ = _path_params(command, argv)
    given = any(a == "--db" or a.startswith("--db=") for a in argv)
    if not given and any("--db" in getattr(p, "opts", ()) for p in leaf.params):
        args += ["--db", db_path]  # the file found held, not the platform's default or BISHUI_DB
    # stdin (e.g. --password-stdin) when it is not a terminal; prompts cannot be answered
    data = None if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    request = {"argv": args, "input": data}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(str(path))
            s.sendall(json.dumps(request, ensure_ascii=False).encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
    except OSError:
        return None
    try:
        reply = json.loads(b"".join(chunks))
    except ValueError:
        return None
    sys.stdout.write(reply.get("stdout", ""))
    sys.stdout.flush()
    sys.stderr.write(reply.get("stderr", ""))
    return int(reply.get("exit_code", 1))
