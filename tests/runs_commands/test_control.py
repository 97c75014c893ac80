"""engine/runs/control.py: find, stop, abort and delete runs with real supervisors."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleetstack.engine.errors import FleetstackError
from fleetstack.engine.models.statuses import (
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)
from fleetstack.engine.runner.supervisor import process_token
from fleetstack.engine.runs.control import delete_run, find_run, stop_run
from fleetstack.engine.runs.lifecycle import refresh_runs
from fleetstack.engine.state import (
    create_job,
    create_run,
    finish_job,
    get_job,
    get_run,
    get_run_by_name,
    jobs_of_run,
    list_runs,
    set_run_status,
)

from ..helpers import assert_run_ended


def _running(cli, state, run):
    def check():
        refresh_runs(state)
        return get_run(state, run.id).status is RunStatus.RUNNING

    cli.wait_for(check, f"{run.name} to run")


def _finished(cli, state, run):
    def check():
        refresh_runs(state)
        return get_run(state, run.id).status.is_finished

    cli.wait_for(check, f"{run.name} to finish")


def test_find_run_names_the_missing_run_and_how_to_list(state):
    with pytest.raises(FleetstackError, match=r"run ghost not found; `dstack ps -a` lists runs"):
        find_run(state, "ghost")


def test_stop_terminates_a_running_job_with_terminated_by_user(cli, state, start_local_run):
    run = start_local_run("sleeper", ["echo started", "sleep 300"])
    _running(cli, state, run)
    stopped = stop_run(state, "sleeper", abort=False)
    assert_run_ended(
        stopped, RunStatus.TERMINATED, RunTerminationReason.STOPPED_BY_USER, "stopped by user"
    )
    (job,) = jobs_of_run(state, run.id)
    assert job.status is JobStatus.TERMINATED
    assert job.termination_reason is JobTerminationReason.TERMINATED_BY_USER


def test_abort_kills_at_once_with_aborted_by_user(cli, state, start_local_run, tmp_path):
    # A long grace and commands that ignore SIGTERM: only an abort ends them within the wait.
    pid_file = tmp_path / "commands.pid"
    run = start_local_run(
        "stubborn",
        ["trap '' TERM", f"echo $$ > {pid_file}", "while true; do sleep 0.2; done"],
        grace=600,
        stop_grace=600,
    )
    _running(cli, state, run)
    commands_pid = int(cli.wait_for(lambda: pid_file.exists() and pid_file.read_text(), "pid"))
    aborted = stop_run(state, "stubborn", abort=True)
    assert_run_ended(
        aborted, RunStatus.TERMINATED, RunTerminationReason.ABORTED_BY_USER, "aborted by user"
    )
    (job,) = jobs_of_run(state, run.id)
    assert job.termination_reason is JobTerminationReason.ABORTED_BY_USER
    # The commands run in a process group of their own (job control): they die too.
    cli.wait_for(lambda: process_token(commands_pid) is None, "the commands to be killed")


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace(cli, state, start_local_run):
    run = start_local_run(
        "deaf",
        ["trap '' TERM", "echo started", "while true; do sleep 0.2; done"],
        grace=1.0,
        stop_grace=1,
    )
    _running(cli, state, run)
    stopped = stop_run(state, "deaf", abort=False, timeout=60)
    assert stopped.status is RunStatus.TERMINATED
    (job,) = jobs_of_run(state, run.id)
    assert job.termination_reason is JobTerminationReason.TERMINATED_BY_USER


def test_stop_of_a_finished_run_changes_nothing(cli, state, start_local_run):
    run = start_local_run("quick", ["true"])
    _finished(cli, state, run)
    before = get_run(state, run.id)
    after = stop_run(state, "quick", abort=True)
    assert after.status is before.status is RunStatus.DONE
    assert after.termination_reason is RunTerminationReason.ALL_JOBS_DONE


def test_stop_of_a_job_that_never_started_ends_it(state):
    run = create_run(state, name="queued")
    job = create_job(state, run.id)
    stopped = stop_run(state, "queued", abort=False, timeout=5)
    assert stopped.status is RunStatus.TERMINATED
    assert stopped.termination_reason is RunTerminationReason.STOPPED_BY_USER
    assert get_job(state, job.id).status is JobStatus.TERMINATED


def test_delete_refuses_an_active_run(cli, state, start_local_run):
    start_local_run("busy", ["sleep 300"])
    with pytest.raises(FleetstackError, match=r"still .*stop it first with `dstack stop busy`"):
        delete_run(state, "busy")
    assert get_run_by_name(state, "busy") is not None
    stop_run(state, "busy", abort=True)


def test_delete_removes_the_run_and_its_files(cli, state, start_local_run):
    run = start_local_run("old", ["echo bye"])
    _finished(cli, state, run)
    run_dir = Path(get_run(state, run.id).run_spec["run_dir"])
    assert (run_dir / "job-0-0" / "output.log").read_bytes() == b"bye\n"
    delete_run(state, "old")
    assert not run_dir.exists()
    assert get_run_by_name(state, "old") is None
    assert all(r.name != "old" for r in list_runs(state))
    with pytest.raises(FleetstackError, match="not found"):
        delete_run(state, "old")


def test_delete_never_removes_files_outside_dstack_home(state, tmp_path):
    outside = tmp_path / "elsewhere" / "job-0-0"
    outside.mkdir(parents=True)
    (outside / "output.log").write_bytes(b"keep me")
    run = create_run(state, name="odd", status=RunStatus.FAILED)
    create_job(state, run.id, job_dir=str(outside))
    delete_run(state, "odd")
    assert (outside / "output.log").read_bytes() == b"keep me"


def test_stop_of_a_run_waiting_for_its_retry_ends_it_without_a_new_submission(state):
    run = create_run(state, name="retrying", status=RunStatus.RUNNING)
    job = create_job(state, run.id, status=JobStatus.RUNNING)
    finish_job(state, job.id, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=1)
    set_run_status(state, run.id, RunStatus.PENDING)
    stopped = stop_run(state, "retrying", abort=False, timeout=5)
    assert stopped.status is RunStatus.TERMINATED
    assert stopped.termination_reason is RunTerminationReason.STOPPED_BY_USER
    assert [j.id for j in jobs_of_run(state, run.id)] == [job.id]
