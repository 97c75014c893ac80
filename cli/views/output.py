"""One place for how the CLI prints errors and tables."""

from __future__ import annotations

import sys


def print_error(message: str) -> None:
    """Print an expected failure in red on stderr, no traceback."""
    from rich.console import Console

    Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(
        f"[red]{_escape(message)}[/red]"
    )


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def console():
    """A rich console on stdout (plain when stdout is not a terminal)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=not sys.stdout.isatty())
