"""Durations as .dstack.yml writes them (engine/durations.py)."""

from __future__ import annotations

import pytest
from fleetstack.engine.models.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30s", 30),
        ("30m", 1800),
        ("2h", 7200),
        ("1d", 86400),
        ("1w", 604800),
        ("90", 90),
        (3600, 3600),
        (0, 0),
        ("2H", 7200),
        ("off", None),
        (False, None),  # YAML 1.1 reads a bare `off` as false
        (None, None),
        (-1, None),
        ("-1", None),
    ],
)
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["2 hours", "1.5h", "h", -5, True, "soon", [1]])
def test_parse_duration_rejects_with_what_is_accepted(value):
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert "30m" in str(info.value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(7200, "2h"), (1800, "30m"), (90, "90s"), (86400, "1d"), (604800, "1w"), (None, "off")],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds
