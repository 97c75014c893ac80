"""`dstack apply`: plan and apply a configuration: shows offers and the stack's diff, then runs it."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    app.command("apply", help="Plan and apply a configuration: shows offers and the stack's diff, then runs it.")(apply_command)


def apply_command() -> None:
    from fleetstack.engine.errors import FleetstackError

    raise FleetstackError("`dstack apply` is not available yet in this version of fleetstack.")
