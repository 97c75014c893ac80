"""Rendering of `dstack ps`: the runs table, its JSON form, its redraw for `-w`.

The table is laid out here rather than with rich: rich's Table takes ~0.5 s for 1,000
rows on a small machine, and `dstack ps -a` must stay under half a second. It is the one
table of the CLI not printed by views/tables.py's print_table, for that reason. Colours are
ANSI codes, used only on a terminal and never with NO_COLOR.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TextIO

from ...engine.errors import FleetstackError
from ...engine.models.durations import format_duration
from ...engine.runs.backoff import next_attempt
from ...engine.services.run_list import RunSummary, list_runs
from .output import redraw

HEADERS = ("NAME", "BACKEND", "GPU", "PRICE", "STATUS", "SUBMITTED")
_STATUS_COLOURS = {
    "pending": "33",
    "submitted": "33",
    "provisioning": "36",
    "running": "32",
    "terminating": "33",
    "done": "90",
    "failed": "31",
    "terminated": "90",
}
_BOLD = "1"


def show_runs(
    *, all_runs: bool, last: int | None, watch: bool, as_json: bool, verbose: bool
) -> None:
    """`dstack ps`: print the table (or JSON) once, or every 2 s with --watch until Ctrl-C."""
    if last is not None and last < 1:
        raise FleetstackError(f"-n/--last must be 1 or more, got {last}")
    if watch and as_json:
        raise FleetstackError("--json cannot be combined with -w/--watch")
    if not watch:
        runs = list_runs(all_runs=all_runs, limit=last)
        out = sys.stdout
        out.write(runs_json(runs) + "\n" if as_json else format_table(runs, verbose=verbose))
        out.flush()
        return
    colour = _use_colour(sys.stdout)

    def render() -> str:
        return format_table(
            list_runs(all_runs=all_runs, limit=last), verbose=verbose, colour=colour
        )

    redraw(render)


def format_table(
    runs: Sequence[RunSummary],
    *,
    verbose: bool = False,
    colour: bool | None = None,
    now: datetime | None = None,
) -> str:
    """The runs table as text, one line per run, newest first; "No runs" when empty."""
    if colour is None:
        colour = _use_colour(sys.stdout)
    if not runs:
        return "No runs. `dstack apply -f FILE` submits one; `dstack ps -a` lists finished runs.\n"
    now = now or datetime.now(UTC)
    headers = HEADERS + (("ERROR",) if verbose else ())
    rows = [_row(run, now, verbose) for run in runs]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    status_col = headers.index("STATUS")
    lines = [_line(headers, widths, lambda i, cell: _paint(cell, _BOLD, colour))]
    for run, row in zip(runs, rows, strict=True):
        code = _STATUS_COLOURS.get(run.status)

        def paint(i: int, cell: str, code: str | None = code) -> str:
            if i == status_col and code:
                return _paint(cell, code, colour)
            if i == len(headers) - 1 and verbose and cell != "-":
                return _paint(cell, "31", colour)
            return cell

        lines.append(_line(row, widths, paint))
    return "\n".join(lines) + "\n"


def runs_json(runs: Sequence[RunSummary]) -> str:
    """`dstack ps --json`: {"runs": [...]}, newest first, timestamps in ISO 8601 UTC."""
    return json.dumps({"runs": [run_json(run) for run in runs]}, indent=2)


def run_json(run: RunSummary) -> dict[str, str | float | int | None]:
    return {
        "name": run.name,
        "project": run.project,
        "status": run.status,
        "termination_reason": run.termination_reason,
        "backend": run.backend,
        "region": run.region,
        "gpu": run.gpu,
        "resources": run.resources,
        "price": run.price,
        "submitted_at": _iso(run.submitted_at),
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "error": run.error_text or None,
        "exit_status": run.exit_status,
        "job_status": run.job_status,
        "job_termination_reason": run.job_termination_reason,
        "configuration_path": run.configuration_path,
    }


def relative_time(when: datetime, now: datetime) -> str:
    """ "now", "12 secs ago", "2 mins ago", "1 hour ago", "3 days ago", then the date."""
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 5:
        return "now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "min"), (1, "sec")):
        if seconds >= size:
            count = seconds // size
            if unit == "day" and count > 7:
                return when.strftime("%Y-%m-%d")
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "now"


# ---------------------------------------------------------------- helpers


def _row(run: RunSummary, now: datetime, verbose: bool) -> tuple[str, ...]:
    backend = run.backend or "-"
    if run.backend and run.region and run.region != run.backend:
        backend = f"{run.backend} ({run.region})"
    price = f"${run.price:g}" if run.price is not None else "-"
    cells: tuple[str, ...] = (
        run.name,
        backend,
        run.gpu or "-",
        price,
        _status(run, now),
        relative_time(run.submitted_at, now),
    )
    if verbose:
        cells += (_one_line(run.error_text) or "-",)
    return cells


def _status(run: RunSummary, now: datetime) -> str:
    """The STATUS cell; a run waiting to be retried says when: "pending (retry in 25s)"."""
    if run.status != "pending" or run.job_finished_at is None or run.submission_num is None:
        return run.status
    wait = int((next_attempt(run.job_finished_at, run.submission_num) - now).total_seconds())
    return f"pending (retry in {format_duration(wait)})" if wait > 0 else "pending (retry now)"


def _line(cells: Sequence[str], widths: Sequence[int], paint: Callable[[int, str], str]) -> str:
    last = len(cells) - 1
    parts = []
    for i, cell in enumerate(cells):
        padding = "" if i == last else " " * (widths[i] - len(cell))
        parts.append(paint(i, cell) + padding)
    return "  ".join(parts).rstrip()


def _paint(text: str, code: str, colour: bool) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if colour else text


def _use_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")
