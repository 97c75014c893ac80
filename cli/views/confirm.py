"""Asking a yes/no question before doing something that cannot be undone."""

from __future__ import annotations

import sys


def confirm(question: str, *, yes: bool) -> bool:
    """True with `yes` (-y) or when the user answers y; a FleetstackError when stdin is not a
    terminal (nobody can answer: a script must pass -y)."""
    if yes:
        return True
    if not sys.stdin.isatty():
        from ...engine.errors import FleetstackError

        raise FleetstackError(f"{question} [y/n]: stdin is not a terminal; pass -y to confirm")
    try:
        answer = input(f"{question} [y/n]: ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
