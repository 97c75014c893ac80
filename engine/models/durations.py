"""Durations as .dstack.yml writes them: `30s`, `30m`, `2h`, `1d`, `1w`, plain seconds, `off`."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$", re.IGNORECASE)
_OFF = {"off", "false", "no", "none", "-1"}

ACCEPTED = "a duration such as 30s, 30m, 2h, 1d, 1w, a number of seconds, or off"


def parse_duration(value: object) -> int | None:
    """Seconds of `value` (a raw YAML value); None for `off`, `-1` or None. ValueError explains
    what is accepted."""
    if value is None or value is False:  # YAML 1.1 reads a bare `off` as False
        return None
    if value is True:
        raise ValueError(f"expected {ACCEPTED}, got true")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        if value == -1:
            return None
        if value < 0:
            raise ValueError(f"expected {ACCEPTED}, got {value} (negative)")
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected {ACCEPTED}, got {type(value).__name__} {value!r}")
    text = value.strip().lower()
    if text in _OFF:
        return None
    match = _PATTERN.match(text)
    if not match:
        raise ValueError(f"expected {ACCEPTED}, got {value!r}")
    number, unit = match.groups()
    return int(number) * _UNITS[unit.lower() or "s"]


def format_duration(seconds: int | None) -> str:
    """The shortest exact text of `seconds`: 7200 -> "2h", 90 -> "90s", None -> "off"."""
    if seconds is None or seconds < 0:
        return "off"
    if seconds == 0:
        return "0s"
    for unit in ("w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
