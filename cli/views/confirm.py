"""Asking a yes/no question before doing something that cannot be undone."""

from __future__ import annotations

import sys


def confirm(question: str, *, yes: bool) -> bool:
    """True with `yes` (-y) or when the user answers y. A piped answer counts, as dstack reads
    one (`echo y | dstack delete -f F`); a pipe that gives none is a no, said on the line."""
    if yes:
        return True
    prompt = f"{question} [y/n]: "
    if sys.stdin.isatty():
        try:
            answer = input(prompt)
        except EOFError:
            return False
    else:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        answer = sys.stdin.readline().strip()
        print(answer or "no (stdin gave no answer; pass -y)", flush=True)
    return answer.strip().lower() in ("y", "yes")
