"""Cron expressions of `schedule.cron`: five fields (minute hour day month weekday), UTC."""

from __future__ import annotations

import re

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    (
        "month",
        1,
        12,
        tuple(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]),
    ),
    ("day of week", 0, 6, _DAYS),
)
_ITEM = re.compile(r"^(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/([0-9]+))?$")
EXAMPLE = "'0 6 * * mon-fri' (minute hour day month weekday)"


def check_cron(expression: str) -> None:
    """Nothing when `expression` is a valid five-field cron expression; else a ValueError
    naming the field that is wrong."""
    parts = expression.split()
    if len(parts) != 5:
        raise ValueError(
            f"cron {expression!r} has {len(parts)} fields, not 5: write e.g. {EXAMPLE}"
        )
    for text, (what, low, high, names) in zip(parts, _FIELDS, strict=True):
        for item in text.lower().split(","):
            if not _valid_item(item, low, high, names):
                raise ValueError(
                    f"cron {expression!r}: {text!r} is not a valid {what} "
                    f"({low}-{high}{', or names' if names else ''}): write e.g. {EXAMPLE}"
                )


def _valid_item(item: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    match = _ITEM.match(item)
    if not match:
        return False
    span, step = match.groups()
    if step is not None and int(step) < 1:
        return False
    if span == "*":
        return True
    bounds = [_value(x, low, names) for x in span.split("-")]
    if any(b is None or not low <= b <= high for b in bounds):
        return False
    return len(bounds) == 1 or bounds[0] <= bounds[1]  # type: ignore[operator]


def _value(text: str, low: int, names: tuple[str, ...]) -> int | None:
    if text.isdigit():
        return int(text)
    if text in names:
        return names.index(text) + (low if low == 1 else 0)
    return None
