"""engine/runs/listing.py: what `dstack ps` reads, and when it refreshes first."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest
from fleetstack.engine.models.statuses import (
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)
from fleetstack.engine.runs.listing import (
    FINISHED_JOB_STATUSES,
    FINISHED_RUN_STATUSES,
    list_runs_for_ps,
    needs_refresh,
    open_source,
)
from fleetstack.engine.state import (
    create_job,
    create_run,
    delete_run,
    finish_job,
    finish_run,
    set_job_status,
    set_run_status,
    update_run,
)


def _finished(state, name, run_reason=RunTerminationReason.ALL_JOBS_DONE, **job_end):
    run = create_run(state, name=name, backend="local", region="local", price=0.0)
    job = create_job(state, run.id)
    set_job_status(state, job.id, JobStatus.RUNNING)
    set_run_status(state, run.id, RunStatus.RUNNING)
    if job_end:
        finish_job(state, job.id, **job_end)
    else:
        finish_job(state, job.id, JobTerminationReason.DONE_BY_RUNNER, exit_status=0)
    return finish_run(state, run.id, run_reason)


def test_final_statuses_match_the_state_machine():
    assert set(FINISHED_RUN_STATUSES) == {s.value for s in RunStatus if s.is_finished}
    assert set(FINISHED_JOB_STATUSES) == {s.value for s in JobStatus if s.is_finished}


def test_no_database_means_no_runs_and_creates_nothing(isolated_home):
    assert list_runs_for_ps(all_runs=True) == []
    assert open_source() is None
    assert not (isolated_home / ".dstack" / "state.db").exists()


def test_default_shows_active_runs_else_the_last_finished(state):
    _finished(state, "old")
    _finished(state, "newer")
    assert [r.name for r in list_runs_for_ps(refresh=False)] == ["newer"]
    active = create_run(state, name="live")
    create_job(state, active.id)
    assert [r.name for r in list_runs_for_ps(refresh=False)] == ["live"]
    assert [r.name for r in list_runs_for_ps(all_runs=True, refresh=False)] == [
        "live",
        "newer",
        "old",
    ]
    assert [r.name for r in list_runs_for_ps(limit=2, refresh=False)] == ["live", "newer"]


def test_deleted_runs_are_not_listed(state):
    run = _finished(state, "bye")
    delete_run(state, run.id)
    assert list_runs_for_ps(all_runs=True, refresh=False) == []


def test_a_summary_carries_the_latest_job_and_the_error_text(state):
    _finished(
        state,
        "crash",
        RunTerminationReason.JOB_FAILED,
        reason=JobTerminationReason.CONTAINER_EXITED_WITH_ERROR,
        exit_status=3,
    )
    (run,) = list_runs_for_ps(all_runs=True, refresh=False)
    assert (run.status, run.job_status, run.exit_status) == ("failed", "failed", 3)
    assert run.error_text == "exited (3)"  # recorded by nobody: derived from the job
    assert run.is_finished and run.submitted_at.tzinfo is not None


def test_the_error_the_lifecycle_recorded_wins(state):
    run = create_run(state, name="r", status=RunStatus.RUNNING)
    job = create_job(state, run.id, status=JobStatus.RUNNING)
    finish_job(state, job.id, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=125)
    finish_run(state, run.id, RunTerminationReason.JOB_FAILED, error="exited (125): no docker")
    (summary,) = list_runs_for_ps(all_runs=True, refresh=False)
    assert summary.error_text == "exited (125): no docker"


def test_gpu_comes_from_the_recorded_offer(state):
    run = create_run(state, name="gpu")
    gpus = [{"vendor": "nvidia", "name": "A100", "memory_gb": 80.0}] * 2
    update_run(state, run.id, run_spec={"offer": {"resources": {"gpus": gpus}}})
    (summary,) = list_runs_for_ps(refresh=False)
    assert summary.gpu == "A100:80GB:2"
    assert replace(summary, run_spec=None).gpu is None


def test_the_state_layer_path_reads_the_same_rows(state):
    _finished(state, "a")
    live = create_run(state, name="b")
    create_job(state, live.id)
    fast = list_runs_for_ps(all_runs=True, refresh=False)
    # A URL the sqlite3 shortcut does not take goes through SQLAlchemy with the same SQL.
    slow = list_runs_for_ps(all_runs=True, refresh=False, url=state.url + "?timeout=30")
    assert fast == slow and [r.name for r in fast] == ["b", "a"]


def test_needs_refresh_only_when_an_active_run_may_have_changed(state, start_local_run, cli):
    run = start_local_run("steady", ["sleep 300"])
    # Each call refreshes while the run is not yet running; then nothing is left to do.
    cli.wait_for(lambda: list_runs_for_ps()[0].status == "running", "the run to be running")
    (summary,) = list_runs_for_ps()
    assert not needs_refresh([summary])
    assert needs_refresh([replace(summary, status="submitted")])
    assert needs_refresh([replace(summary, supervisor_host="elsewhere")])
    assert needs_refresh([replace(summary, supervisor_token="0:0")])  # not our supervisor
    from fleetstack.engine.runs.control import stop_run

    stop_run(state, run.name, abort=True)
    (summary,) = list_runs_for_ps(all_runs=True)
    assert summary.status == "terminated"


def test_ps_of_finished_runs_never_imports_sqlalchemy(state):
    _finished(state, "done-one")
    code = textwrap.dedent(
        """
        import sys
        from fleetstack.engine.runs.listing import list_runs_for_ps
        runs = list_runs_for_ps(all_runs=True)
        print(len(runs), "sqlalchemy" in sys.modules)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy()
    )
    assert out.stdout.split() == ["1", "False"], out.stderr


@pytest.mark.parametrize("status", ["pending", "submitted", "provisioning", "terminating"])
def test_an_active_run_not_yet_running_is_refreshed(state, status):
    run = create_run(state, name="r")
    create_job(state, run.id)
    (summary,) = list_runs_for_ps(refresh=False)
    assert needs_refresh([replace(summary, status=status)])


def test_the_selected_columns_are_in_the_summary_field_order():
    """_summary builds a RunSummary positionally from the row: the SELECT must follow its fields."""
    from dataclasses import fields

    from fleetstack.engine.runs.listing import _COLUMNS, RunSummary

    columns = [c.strip().split(".", 1)[1] for c in _COLUMNS.split(",")]
    names = [f.name for f in fields(RunSummary)]
    assert len(columns) == len(names)
    for column, name in zip(columns, names, strict=True):
        assert name.endswith(column), f"column {column} feeds the field {name}"
