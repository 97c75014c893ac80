"""`dstack plan`: `dstack apply --dry-run` by another name (many configurations, --json,
--format markdown, --detailed-exitcode, --out), for people and CI."""

from __future__ import annotations

import inspect
import typing
from functools import wraps

import typer

from .apply import apply_command
from .commands import help_of
from .run_args import RunArgsCommand

app = typer.Typer(add_completion=False)


@wraps(apply_command)
def plan_command(**options: object) -> None:
    apply_command(**options, dry_run=True, saved_plan=None, yes=False, detach=False)  # type: ignore[arg-type]


# apply's options, less --dry-run (always on), --plan, -y and -d (nothing is applied)
_DROPPED = ("dry_run", "saved_plan", "yes", "detach")
_signature = inspect.signature(apply_command)
_hints = typing.get_type_hints(apply_command, include_extras=True)  # Annotated options kept
plan_command.__signature__ = _signature.replace(  # type: ignore[attr-defined]
    parameters=[
        p.replace(annotation=_hints.get(name, p.annotation))
        for name, p in _signature.parameters.items()
        if name not in _DROPPED
    ]
)
app.command("plan", help=help_of("plan"), cls=RunArgsCommand,
            context_settings={"allow_extra_args": True})(plan_command)  # fmt: skip
