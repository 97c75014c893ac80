"""cli/ps_view.py and --since parsing: what `dstack ps` and `dstack logs` print and accept."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fleetstack.cli.views.ps import format_table, relative_time, run_json, runs_json
from fleetstack.engine.errors import FleetstackError
from fleetstack.engine.runs.listing import RunSummary
from fleetstack.engine.runs.logs import parse_since

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def _run(name="brave-otter-1", status="running", **fields) -> RunSummary:
    values = dict(
        id="id-" + name, project="main", name=name, status=status, termination_reason=None,
        error=None, backend="local", region="local", price=0.0, resources=None, run_spec=None,
        configuration_path=None, submitted_at=NOW - timedelta(minutes=2), finished_at=None,
        job_id="j", job_status=status, job_termination_reason=None, exit_status=None,
        job_error=None, job_dir=None, supervisor_pid=None, supervisor_host=None,
        supervisor_token=None, started_at=None, job_finished_at=None,
    )  # fmt: skip
    values.update(fields)
    return RunSummary(**values)


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=2), "now"),
        (timedelta(seconds=12), "12 secs ago"),
        (timedelta(minutes=1, seconds=5), "1 min ago"),
        (timedelta(minutes=2), "2 mins ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(days=3), "3 days ago"),
        (timedelta(days=30), "2026-10-24"),
        (timedelta(seconds=-5), "now"),  # a clock a little ahead
    ],
)
def test_relative_time(ago, text):
    assert relative_time(NOW - ago, NOW) == text


def test_table_columns_and_alignment():
    runs = [
        _run(),
        _run(
            "b", "failed", backend="aws", region="us-east-1", price=1.234,
            error="exited (3)", exit_status=3,
        ),
    ]  # fmt: skip
    lines = format_table(runs, colour=False, now=NOW).splitlines()
    assert lines[0].split() == ["NAME", "BACKEND", "GPU", "PRICE", "STATUS", "SUBMITTED"]
    assert lines[1].split() == ["brave-otter-1", "local", "-", "$0", "running", "2", "mins", "ago"]
    assert lines[2].split()[:5] == ["b", "aws", "(us-east-1)", "-", "$1.234"]
    assert lines[0].index("STATUS") == lines[1].index("running") == lines[2].index("failed")
    assert "\x1b[" not in "".join(lines)


def test_verbose_adds_the_error_column_on_one_line():
    runs = [_run(), _run("b", "failed", error="exited (125): image x\nneeds docker")]
    lines = format_table(runs, verbose=True, colour=False, now=NOW).splitlines()
    assert lines[0].split()[-1] == "ERROR"
    assert lines[1].endswith("-")
    assert lines[2].endswith("exited (125): image x needs docker")


def test_colour_only_when_asked():
    coloured = format_table([_run(status="failed")], colour=True, now=NOW)
    assert "\x1b[31mfailed\x1b[0m" in coloured


def test_no_runs_says_how_to_get_one():
    assert format_table([], colour=False).startswith("No runs.")


def test_json_fields():
    run = _run("j", "failed", error="exited (3)", exit_status=3, finished_at=NOW)
    data = json.loads(runs_json([run]))
    (item,) = data["runs"]
    assert item == run_json(run)
    assert item["submitted_at"] == "2026-11-23T11:58:00Z"
    assert item["finished_at"] == "2026-11-23T12:00:00Z"
    assert (item["status"], item["error"], item["exit_status"]) == ("failed", "exited (3)", 3)
    assert (item["backend"], item["region"], item["price"], item["gpu"]) == (
        "local",
        "local",
        0.0,
        None,
    )


def test_since_accepts_durations_and_times():
    assert parse_since("10m", now=NOW) == NOW - timedelta(minutes=10)
    assert parse_since("90", now=NOW) == NOW - timedelta(seconds=90)
    assert parse_since("2026-11-23T09:30:00Z") == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert parse_since(None) is None
    with pytest.raises(FleetstackError, match=r"--since soon: expected a duration such as 10m"):
        parse_since("soon")
