"""refresh_runs: run statuses follow the jobs, final reasons and errors, retry with backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fleetstack.engine.models.statuses import (
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)
from fleetstack.engine.runs.lifecycle import (
    refresh_run,
    refresh_runs,
    retry_delay,
    run_error_text,
)
from fleetstack.engine.state import (
    create_job,
    create_run,
    finish_job,
    get_run,
    jobs_of_run,
    set_job_status,
    set_run_status,
    update_job,
)
from fleetstack.engine.state.models import utcnow

from ..helpers import assert_run_ended


def _run(state, **spec):
    run = create_run(state, name="r", run_spec=spec or None)
    job = create_job(state, run.id)
    return run, job


def _after_its_job_ran_and_ended(state, reason, exit_status):
    """The run, refreshed once, whose only job was running and then ended for `reason`."""
    run, job = _run(state)
    set_job_status(state, job.id, JobStatus.RUNNING)
    finish_job(state, job.id, reason, exit_status=exit_status)
    refresh_runs(state)
    return get_run(state, run.id)


def test_nothing_active_is_a_no_op(state):
    assert refresh_runs(state) == []


def test_run_follows_a_running_job(state):
    run, job = _run(state)
    set_job_status(state, job.id, JobStatus.RUNNING)
    refresh_runs(state)
    assert get_run(state, run.id).status is RunStatus.RUNNING


def test_job_done_before_the_run_was_seen_running_makes_the_run_done(state):
    run = _after_its_job_ran_and_ended(state, JobTerminationReason.DONE_BY_RUNNER, exit_status=0)
    assert_run_ended(run, RunStatus.DONE, RunTerminationReason.ALL_JOBS_DONE, error="")
    assert run.finished_at is not None


def test_exit_3_fails_the_run_with_exited_3(state):
    run = _after_its_job_ran_and_ended(
        state, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=3
    )
    assert_run_ended(run, RunStatus.FAILED, RunTerminationReason.JOB_FAILED, error="exited (3)")


def test_max_duration_terminates_the_run(state):
    run = _after_its_job_ran_and_ended(
        state, JobTerminationReason.MAX_DURATION_EXCEEDED, exit_status=143
    )
    assert_run_ended(
        run,
        RunStatus.TERMINATED,
        RunTerminationReason.MAX_DURATION_EXCEEDED,
        error="max duration exceeded",
    )


def test_stop_reason_set_on_the_run_wins(state):
    run, job = _run(state)
    set_job_status(state, job.id, JobStatus.RUNNING)
    set_run_status(
        state,
        run.id,
        RunStatus.TERMINATING,
        termination_reason=RunTerminationReason.ABORTED_BY_USER,
    )
    set_job_status(state, job.id, JobStatus.TERMINATING)
    refresh_runs(state)
    assert get_run(state, run.id).status is RunStatus.TERMINATING  # waits for the job
    finish_job(state, job.id, JobTerminationReason.ABORTED_BY_USER)
    refresh_runs(state)
    run = get_run(state, run.id)
    assert run.status is RunStatus.TERMINATED
    assert run.termination_reason is RunTerminationReason.ABORTED_BY_USER


def test_script_message_is_part_of_the_error(state, tmp_path):
    run, job = _run(state)
    log = tmp_path / "output.log"
    log.write_bytes(b"fleetstack: image x needs docker or podman, and neither is running\n")
    update_job(state, job.id, job_dir=str(tmp_path), log_path=str(log))
    set_job_status(state, job.id, JobStatus.RUNNING)
    job = finish_job(
        state, job.id, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=125
    )
    assert run_error_text(run, job) == (
        "exited (125): image x needs docker or podman, and neither is running"
    )


def test_supervisor_vanished_is_the_error(state):
    run, job = _run(state)
    job = finish_job(
        state, job.id, JobTerminationReason.EXECUTOR_ERROR, error="supervisor vanished"
    )
    assert run_error_text(run, job) == "supervisor vanished"


def test_dstack_backoff_schedule():
    assert [retry_delay(n).total_seconds() for n in range(1, 9)] == [
        15,
        30,
        60,
        120,
        300,
        600,
        600,
        600,
    ]


def test_failed_job_without_retry_is_not_resubmitted(state):
    run, job = _run(state)
    set_job_status(state, job.id, JobStatus.RUNNING)
    finish_job(state, job.id, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=1)
    refresh_runs(state, now=utcnow() + timedelta(hours=1))
    assert get_run(state, run.id).status is RunStatus.FAILED
    assert len(jobs_of_run(state, run.id)) == 1


def test_error_not_in_on_events_is_not_retried(state):
    run, job = _run(state, retry={"on_events": ["no-capacity"], "duration": 3600})
    set_job_status(state, job.id, JobStatus.RUNNING)
    finish_job(state, job.id, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=1)
    refresh_runs(state)
    assert get_run(state, run.id).status is RunStatus.FAILED


def test_retryable_error_makes_the_run_pending_until_the_backoff_passed(state, monkeypatch):
    resubmitted = []
    monkeypatch.setattr(
        "fleetstack.engine.runs.lifecycle._resubmit",
        lambda state, run, jobs: resubmitted.append([j.submission_num for j in jobs]),
    )
    run, job = _run(state, retry={"on_events": ["error"], "duration": 3600})
    set_job_status(state, job.id, JobStatus.RUNNING)
    job = finish_job(state, job.id, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=1)
    refresh_runs(state)
    pending = get_run(state, run.id)
    assert pending.status is RunStatus.PENDING
    assert pending.error == "exited (1)"
    refresh_runs(state, now=job.finished_at + timedelta(seconds=14))
    assert get_run(state, run.id).status is RunStatus.PENDING
    assert resubmitted == []
    refresh_runs(state, now=job.finished_at + timedelta(seconds=15))
    resubmitted_run = get_run(state, run.id)
    assert resubmitted_run.status is RunStatus.SUBMITTED
    assert resubmitted_run.error is None
    assert resubmitted == [[0]]


def test_no_capacity_retry_ends_when_the_duration_ran_out(state):
    run, job = _run(state, retry={"on_events": ["no-capacity"], "duration": 60})
    finish_job(state, job.id, JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY)
    refresh_runs(state, now=run.submitted_at + timedelta(seconds=61))
    run = get_run(state, run.id)
    assert run.status is RunStatus.FAILED
    assert run.termination_reason is RunTerminationReason.RETRY_LIMIT_EXCEEDED


@pytest.mark.parametrize("status", [JobStatus.PROVISIONING, JobStatus.PULLING])
def test_run_is_provisioning_while_its_job_is(state, status):
    run, job = _run(state)
    set_job_status(state, job.id, status)
    refresh_runs(state)
    assert get_run(state, run.id).status is RunStatus.PROVISIONING


def test_error_retry_duration_counts_from_the_last_started_submission(state):
    run, job = _run(state, retry={"on_events": ["error", "no-capacity"], "duration": 60})
    set_job_status(state, job.id, JobStatus.RUNNING)
    job = finish_job(state, job.id, JobTerminationReason.CONTAINER_EXITED_WITH_ERROR, exit_status=1)
    # long after the run began, an error of a submission that ran is still retried
    refresh_runs(state, now=job.finished_at + timedelta(seconds=30))
    assert get_run(state, run.id).status is RunStatus.PENDING


def test_a_pending_run_is_resubmitted_once_by_concurrent_refreshes(state, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "fleetstack.engine.runs.lifecycle._resubmit", lambda state, run, jobs: calls.append(run.id)
    )
    run, job = _run(state, retry={"on_events": ["error"], "duration": 3600})
    set_job_status(state, job.id, JobStatus.RUNNING)
    job = finish_job(
        state, job.id, JobTerminationReason.EXECUTOR_ERROR, error="supervisor vanished"
    )
    refresh_runs(state)
    stale = get_run(state, run.id)  # what a second process read before the first claimed it
    later = job.finished_at + timedelta(seconds=20)
    refresh_runs(state, now=later)
    refresh_run(state, stale, now=later)
    assert calls == [run.id]
