"""Commands that take a run's arguments: their own flags before `--`, the run's after it.

An unknown flag before `--` is a usage error that says how to pass it to the run, instead of
being swallowed; words that are not flags, and everything after `--`, are the run's
arguments (`${{ run.args }}`).
"""

from __future__ import annotations

from typer import _click as click  # typer vendors click: its commands take these types
from typer._click.exceptions import NoSuchOption, UsageError
from typer.core import TyperCommand


class HintedUsageError(UsageError):
    """A usage error with the line that says what to type instead."""

    def __init__(self, message: str, hint: str, ctx: click.Context | None = None) -> None:
        super().__init__(message, ctx)
        self.hint = hint


class RunArgsCommand(TyperCommand):
    """A typer command whose `ctx.args` are the run's arguments."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        split = args.index("--") if "--" in args else len(args)
        own, run = args[:split], args[split + 1 :]
        try:
            rest = super().parse_args(ctx, own)
        except NoSuchOption as exc:
            close = f" (did you mean {', '.join(exc.possibilities)}?)" if exc.possibilities else ""
            raise HintedUsageError(
                f"no such option {exc.option_name}{close}",
                f"a run argument goes after --: {ctx.command_path} -f FILE -- {exc.option_name}",
                ctx,
            ) from None
        ctx.args = [*rest, *run]
        return ctx.args


def usage_lines(exc: UsageError) -> list[str]:
    """The one or two lines a usage error prints: what is wrong, and what to type."""
    command = exc.ctx.command_path if exc.ctx is not None else "dstack"
    first = exc.format_message()
    first = first[0].lower() + first[1:] if first else first
    hint = exc.hint if isinstance(exc, HintedUsageError) else f"see `{command} -h`"
    return [f"{command}: {first}", hint]
