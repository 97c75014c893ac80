"""One place for how the CLI prints errors and makes its console."""

# rich is imported when something is printed: `dstack ps` prints without it.
from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

WATCH_INTERVAL_SECONDS = 2.0


def print_error(message: str) -> None:
    """Print an expected failure in red on stderr, no traceback."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(
        f"[red]{escape(message)}[/red]"
    )


def console() -> Console:
    """A rich console on stdout (plain when stdout is not a terminal)."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=not sys.stdout.isatty())


def status_console() -> Console:
    """A rich console on stderr, for status lines beside a job's output on stdout."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def redraw(render: Callable[[], str]) -> None:
    """Print `render()` every 2 s (redrawn in place on a terminal) until Ctrl-C, then end
    cleanly: `dstack ps -w` and `dstack fleet -w`."""
    try:
        while True:
            text = render()
            if sys.stdout.isatty():
                text = "\x1b[H\x1b[J" + text  # redraw in place
            sys.stdout.write(text)
            sys.stdout.flush()
            time.sleep(WATCH_INTERVAL_SECONDS)
    except KeyboardInterrupt:
        sys.stdout.write("\n")
