"""The ``bishui`` command.

Each domain keeps its own command group in ``bishui/<domain>/cli.py``; this module only
lists them, and imports one only when it is invoked, so ``bishui hj212 decode`` does not
pay for loading the web stack.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from bishui import __version__, control
from bishui.errors import BishuiError, StoreBusy

#: command name → "module:attribute" of a click command or group
SUBCOMMANDS: dict[str, str] = {
    "aggregate": "bishui.core_cli:aggregate_cmd",
    "air": "bishui.air.cli:air",
    "permits": "bishui.sources.cli:permits",
    "compensation": "bishui.compensation.cli:compensation",
    "demo": "bishui.demo.cli:demo",
    "drain": "bishui.core_cli:drain",
    "energy": "bishui.energy.cli:energy",
    "hj212": "bishui.hj212.cli:hj212",
    "import": "bishui.core_cli:import_",
    "quarantine": "bishui.core_cli:quarantine",
    "registry": "bishui.core_cli:registry",
    "report": "bishui.reports.cli:report",
    "serve": "bishui.core_cli:serve",
    "sources": "bishui.sources.cli:sources",
    "tasks": "bishui.enforcement.cli:tasks",
    "users": "bishui.web.cli:users",
    "water": "bishui.water.cli:water",
    "exchange": "bishui.exchange.cli:exchange",
    "vehicles": "bishui.vehicles.cli:vehicles",
    "assess": "bishui.assessment.cli:assess",
    "grid": "bishui.grid.cli:grid",
    "police": "bishui.police.cli:police",  # environmental police and joint operations (issue 20)
    "rivers": "bishui.rivers.cli:rivers",  # river and lake chiefs (issue 20)
    "programmes": "bishui.programmes.cli:programmes",  # damage cases, projects, funds (issue 20)
    "citizen": "bishui.participation.cli:citizen",  # citizen reports (issue 20)
    "store": "bishui.core_cli:store_group",  # partitions and retention (issue 21)
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(SUBCOMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in SUBCOMMANDS:
            module_name, attr = SUBCOMMANDS[cmd_name].split(":")
            command: click.Command = getattr(importlib.import_module(module_name), attr)
            return command
        return super().get_command(ctx, cmd_name)

    def main(self, args: Sequence[str] | None = None, *a: Any, **kw: Any) -> Any:
        self.argv = list(sys.argv[1:] if args is None else args)
        return super().main(args, *a, **kw)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StoreBusy as exc:
            # The platform holds the file: it runs the command for us (bishui.control).
            code = control.forward(exc.path, getattr(self, "argv", []), os.getcwd(), self)
            if code is not None:
                sys.exit(code)
            if control.socket_path(exc.path).exists():
                hint = "A bishui platform runs on this file; this command cannot run beside it."
            else:
                hint = (
                    "No running bishui platform answers for this file: stop the process "
                    "holding it, or use another store (--db)."
                )
            click.echo(f"error: {exc.message}\n{hint}", err=True)
            sys.exit(2)
        except BishuiError as exc:
            # One shape for every error a person can fix: the message, no traceback.
            click.echo(f"error: {exc.message}", err=True)
            sys.exit(2)


@click.group(cls=LazyGroup)
@click.version_option(__version__, prog_name="bishui")
def main() -> None:
    """碧水 bishui — a city's ecological-environment governance on data."""
    # The application's start-up: every domain hands its migrations to the store before any
    # command opens one (the store itself names no domain).
    from bishui.app import register_domains

    register_domains()


# A running platform runs the commands handed to it with this group (bishui.control).
control.set_command(main)
