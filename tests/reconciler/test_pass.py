"""One reconciler pass: submitted jobs are placed and started, runs follow their jobs,
no-capacity runs wait (retry) or fail naming the run that holds the machine, every
transition is an event, claims keep two reconcilers apart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fleetstack.engine.models.statuses import (
    JobStatus,
    JobTerminationReason,
    RunStatus,
    RunTerminationReason,
)
from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.runs.control import stop_run
from fleetstack.engine.state import create_run, get_run, jobs_of_run
from fleetstack.engine.state.claims import claim, release
from fleetstack.engine.state.events import list_events
from fleetstack.engine.state.models import JobRow

from ..helpers import wait_for
from .conftest import SMALL_HOST, task


def _until(reconciler, state, run, status):
    def reached():
        reconciler.run_pass()
        current = get_run(state, run.id)
        return current if current.status is status else None

    return wait_for(reached, f"run {run.name} {status.value}")


def _machine_held(submit, reconciler, tmp_path):
    """A run started that takes both CPUs until its gate file exists: (the run, the gate)."""
    gate = tmp_path / "gate"
    holder = submit(task("holder", f"while [ ! -e {gate} ]; do sleep 0.1; done", cpu=2))
    assert len(reconciler.run_pass().jobs_started) == 1
    return holder, gate


def _submit_waiting(submit, reconciler, command, *, duration):
    """A run retried on no-capacity for `duration`, submitted while the machine is held."""
    retry = f"retry: {{on_events: [no-capacity], duration: {duration}}}\n"
    waiting = submit(task("waiting", command, cpu=2, extra=retry))
    reconciler.run_pass()
    return waiting


def test_submit_creates_the_run_and_its_job_together_and_starts_nothing(state, submit):
    run = submit(task("quiet", "echo hi"))

    (job,) = jobs_of_run(state, run.id)
    assert run.status is RunStatus.SUBMITTED and job.status is JobStatus.SUBMITTED
    assert job.supervisor_pid is None and job.log_path is not None
    moves = [(e.entity, e.from_status, e.to_status) for e in list_events(state)]
    assert moves == [("run", None, "submitted"), ("job", None, "submitted")]


def test_a_pass_starts_the_job_and_later_passes_finish_the_run(state, submit, reconciler):
    run = submit(task("hello", "echo hello-from-job"))

    report = reconciler.run_pass()

    (job,) = jobs_of_run(state, run.id)
    assert report.jobs_started == [job.id]
    done = _until(reconciler, state, run, RunStatus.DONE)
    assert done.termination_reason is RunTerminationReason.ALL_JOBS_DONE
    log = Path(jobs_of_run(state, run.id)[0].log_path).read_bytes()
    assert b"hello-from-job" in log
    run_moves = [e.to_status for e in list_events(state, run_ids=[run.id]) if e.entity == "run"]
    assert run_moves == ["submitted", "running", "done"]


def test_runs_that_fit_together_run_together(state, submit, reconciler, tmp_path):
    gate = tmp_path / "gate"
    wait = f"while [ ! -e {gate} ]; do sleep 0.1; done"
    first = submit(task("one", wait, cpu=1))
    second = submit(task("two", wait, cpu=1))

    report = reconciler.run_pass()

    assert len(report.jobs_started) == 2 and report.jobs_without_capacity == []
    gate.touch()
    _until(reconciler, state, first, RunStatus.DONE)
    _until(reconciler, state, second, RunStatus.DONE)


def test_no_capacity_without_retry_fails_at_once_naming_the_run_that_holds_it(
    state, submit, reconciler, tmp_path
):
    holder, gate = _machine_held(submit, reconciler, tmp_path)
    late = submit(task("late", "echo never", cpu=1))

    reconciler.run_pass()

    failed = get_run(state, late.id)
    assert failed.status is RunStatus.FAILED
    assert failed.error == (
        "no capacity on this machine: late needs 1 CPU (0 of 2 free); held by holder"
    )
    (job,) = jobs_of_run(state, late.id)
    assert job.termination_reason is JobTerminationReason.FAILED_TO_START_DUE_TO_NO_CAPACITY
    assert job.supervisor_pid is None  # it never started
    gate.touch()
    _until(reconciler, state, holder, RunStatus.DONE)


def test_no_capacity_with_retry_waits_pending_and_starts_once_the_machine_is_free(
    state, submit, reconciler, clock, tmp_path
):
    holder, gate = _machine_held(submit, reconciler, tmp_path)
    waiting = _submit_waiting(submit, reconciler, "echo finally", duration="1h")

    pending = get_run(state, waiting.id)
    assert pending.status is RunStatus.PENDING
    assert "held by holder" in pending.error
    clock.advance(seconds=16)  # past dstack's first backoff (15 s): still no room
    reconciler.run_pass()
    assert get_run(state, waiting.id).status is RunStatus.PENDING
    assert len(jobs_of_run(state, waiting.id)) == 2  # resubmitted once, failed for capacity
    gate.touch()
    _until(reconciler, state, holder, RunStatus.DONE)
    clock.advance(seconds=31)  # the second backoff (30 s)
    done = _until(reconciler, state, waiting, RunStatus.DONE)
    assert done.termination_reason is RunTerminationReason.ALL_JOBS_DONE
    assert [j.submission_num for j in jobs_of_run(state, waiting.id)] == [0, 1, 2]


def test_waiting_for_capacity_ends_at_the_retry_duration(
    state, submit, reconciler, clock, tmp_path
):
    holder, gate = _machine_held(submit, reconciler, tmp_path)
    waiting = _submit_waiting(submit, reconciler, "echo never", duration="1m")
    assert get_run(state, waiting.id).status is RunStatus.PENDING

    clock.advance(minutes=2)
    reconciler.run_pass()
    reconciler.run_pass()

    ended = get_run(state, waiting.id)
    assert ended.status is RunStatus.FAILED
    assert ended.termination_reason is RunTerminationReason.RETRY_LIMIT_EXCEEDED
    gate.touch()
    _until(reconciler, state, holder, RunStatus.DONE)


def test_a_run_left_without_a_job_is_finished_by_the_next_pass(state, reconciler):
    orphan = create_run(state, name="orphan")

    reconciler.run_pass()

    ended = get_run(state, orphan.id)
    assert ended.status is RunStatus.FAILED
    assert ended.error == "its submission was interrupted"


def test_stop_ends_a_run_that_has_no_job(state):
    create_run(state, name="orphan")

    stopped = stop_run(state, "orphan")

    assert stopped.status is RunStatus.TERMINATED
    assert stopped.termination_reason is RunTerminationReason.STOPPED_BY_USER


def test_a_stop_before_the_job_started_ends_it_without_running_it(state, submit, reconciler):
    run = submit(task("early", "echo must-not-run"))

    stopped = stop_run(state, run.name)
    reconciler.run_pass()

    assert stopped.status is RunStatus.TERMINATED
    (job,) = jobs_of_run(state, run.id)
    assert job.status is JobStatus.TERMINATED and job.supervisor_pid is None


def test_a_claimed_job_is_left_alone_by_another_reconciler_until_the_claim_expires(
    state, submit, clock
):
    run = submit(task("claimed", "echo hi"))
    (job,) = jobs_of_run(state, run.id)
    assert claim(state, JobRow, "other", now=clock(), ids=[job.id]) == [job.id]

    mine = Reconciler(state, clock=clock, host=SMALL_HOST, owner="mine")
    assert mine.run_pass().jobs_started == []
    assert claim(state, JobRow, "third", now=clock(), ids=[job.id]) == []

    clock.advance(minutes=2)  # the other reconciler died: its lease runs out
    assert mine.run_pass().jobs_started == [job.id]
    release(state, JobRow, [job.id], "other")  # a late release of an expired claim: harmless
    _until(mine, state, run, RunStatus.DONE)


def test_the_clock_decides_when_a_pending_run_is_resubmitted(
    state, submit, reconciler, clock, tmp_path
):
    holder, gate = _machine_held(submit, reconciler, tmp_path)
    waiting = _submit_waiting(submit, reconciler, "echo hi", duration="1h")
    gate.touch()
    _until(reconciler, state, holder, RunStatus.DONE)

    (failed,) = jobs_of_run(state, waiting.id)
    clock.at(failed.finished_at + timedelta(seconds=10))  # before the 15 s backoff: nothing
    reconciler.run_pass()
    assert len(jobs_of_run(state, waiting.id)) == 1
    clock.advance(seconds=6)
    reconciler.run_pass()
    assert len(jobs_of_run(state, waiting.id)) == 2
    _until(reconciler, state, waiting, RunStatus.DONE)
