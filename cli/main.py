"""The `dstack` application: a static table of commands, each loaded when it is invoked.

`dstack --help` lists the table without importing any command module, so the command
modules import the engine (pydantic, SQLAlchemy, gpuhunt, Pulumi) at module level and the
help stays fast. A command module defines `app`, a typer app with add_completion=False.
"""

from __future__ import annotations

import importlib
import sys
from importlib import metadata

import typer
from typer import _click as click  # typer 0.29 vendors click: its groups take these types
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperCommand, TyperGroup
from typer.exceptions import Abort

from ..engine.errors import FleetstackError
from ..engine.paths import ensure_private_home, private_process
from ..stacks.errors import StackError
from .commands import COMMANDS
from .run_args import usage_lines
from .views.output import print_error


class LazyCommands(TyperGroup):
    """A group whose commands come from COMMANDS: placeholders for the help listing, the
    command module's own app when one is invoked."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, help_text = entry
        if self._listing:
            return TyperCommand(cmd_name, help=help_text)
        # Importing the module here is the point of the table: only the invoked command pays.
        module = importlib.import_module(f".{module_name}", __package__)
        command = typer.main.get_command(module.app)
        command.name = cmd_name
        return command

    def main(self, *args: object, **kwargs: object) -> object:
        """click's main, but a usage error is one or two red lines (exit 2), not a panel."""
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)  # type: ignore[arg-type]
        except NoArgsIsHelpError as exc:  # `dstack` alone: the help, as click prints it
            exc.show()
            sys.exit(exc.exit_code)
        except UsageError as exc:
            print_error("\n".join(usage_lines(exc)))
            sys.exit(exc.exit_code)
        except Abort:
            print_error("aborted")
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="dstack",
    cls=LazyCommands,
    help="Run AI workloads on cloud GPUs from .dstack.yml files. Every fleet is a Pulumi stack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"fleetstack {metadata.version('fleetstack')}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        expose_value=False,
        callback=_print_version,
        help="Print fleetstack's version and exit",
    ),
) -> None:
    """Run AI workloads on cloud GPUs from .dstack.yml files. Every fleet is a Pulumi stack."""


def run() -> None:
    """Console-script entry point: expected failures print one or two red lines, exit 1."""
    private_process()  # before anything is written: state.db, logs, job files are 0600
    try:
        ensure_private_home(create=False)
        app()
    except (FleetstackError, StackError) as exc:
        print_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    run()
