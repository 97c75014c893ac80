"""The job supervisor as the engine uses it: real detached processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from fleetstack.engine.runner import jobfiles
from fleetstack.engine.runner.jobcontrol import (
    is_alive,
    process_token,
    read_pid_file,
    reconcile_jobs,
    start_supervisor,
    stop_job,
    wait_for_exit,
)
from fleetstack.engine.state import (
    JobStatus,
    JobTerminationReason,
    close_all,
    create_job,
    create_run,
    get_job,
    open_state,
    set_job_status,
    update_job,
)

from ...helpers import WAIT, is_running, wait_for


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.db'}"
    state = open_state(url)
    yield state
    close_all()


@pytest.fixture
def job(db):
    run = create_run(db, name="r")
    return create_job(db, run.id)


def _script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "job.sh"
    path.write_text(body)
    return path


def _start(db, job, tmp_path, body, **kwargs):
    job_dir = tmp_path / "job"
    handle = start_supervisor(
        job_dir,
        script=_script(tmp_path, body),
        job_id=job.id,
        database_url=db.url,
        **kwargs,
    )
    return job_dir, handle


def _wait_for_file(path: Path) -> None:
    wait_for(path.exists, f"{path} to appear")


def _wait_for_pid(path: Path) -> int:
    """The pid the job wrote with `echo $! > FILE`: the shell creates the file before it
    writes, so a file that exists may still be empty; its line is whole once it ends."""

    def whole_line() -> str:
        text = path.read_text() if path.exists() else ""
        return text if text.endswith("\n") else ""

    return int(wait_for(whole_line, f"a whole line in {path}"))


def _wait_for_status(db, job_id: str, status: JobStatus) -> None:
    wait_for(lambda: get_job(db, job_id).status is status, f"the job to become {status.value}")


def _gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if process_token(pid) is None:
            return True
        time.sleep(0.05)
    return False


def test_script_that_exits_0_is_done(db, job, tmp_path):
    job_dir, handle = _start(db, job, tmp_path, "echo hello\necho world >&2\n")
    status = wait_for_exit(job_dir, WAIT)
    assert (status.code, status.signal, status.status) == (0, None, "done")
    assert (job_dir / "output.log").read_bytes() == b"hello\nworld\n"
    _wait_for_status(db, job.id, JobStatus.DONE)  # the row follows the exit file
    record = get_job(db, job.id)
    assert record.termination_reason is JobTerminationReason.DONE_BY_RUNNER
    assert record.exit_status == 0
    assert record.supervisor_pid == handle.pid
    assert record.log_path == str(job_dir / "output.log")
    assert record.started_at <= record.finished_at


def test_script_that_exits_3_fails_with_exit_status_3(db, job, tmp_path):
    job_dir, _ = _start(db, job, tmp_path, "echo oops\nexit 3\n")
    status = wait_for_exit(job_dir, WAIT)
    assert (status.code, status.exit_status, status.status) == (3, 3, "failed")
    on_disk = json.loads((job_dir / "exit_status.json").read_text())
    assert on_disk["code"] == 3 and on_disk["finished_at"] > 0
    _wait_for_status(db, job.id, JobStatus.FAILED)  # the row follows the exit file
    record = get_job(db, job.id)
    assert record.termination_reason is JobTerminationReason.CONTAINER_EXITED_WITH_ERROR
    assert record.exit_status == 3


def test_output_is_stored_byte_for_byte(db, job, tmp_path, log_payload):
    (tmp_path / "payload.bin").write_bytes(log_payload)
    job_dir, _ = _start(db, job, tmp_path, f"cat {tmp_path / 'payload.bin'}\n")
    assert wait_for_exit(job_dir, WAIT).status == "done"
    assert (job_dir / "output.log").read_bytes() == log_payload


def test_env_and_working_dir_are_given_to_the_script(db, job, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    job_dir, _ = _start(
        db, job, tmp_path, 'echo "$GREETING $(pwd)"\n', working_dir=work, env={"GREETING": "hi"}
    )
    wait_for_exit(job_dir, WAIT)
    assert (job_dir / "output.log").read_bytes() == f"hi {work}\n".encode()


def test_stop_forwards_sigterm_and_the_script_may_clean_up(db, job, tmp_path):
    body = "trap 'echo cleaning up; exit 0' TERM\necho started\nwhile true; do sleep 0.1; done\n"
    job_dir, _ = _start(db, job, tmp_path, body)
    _wait_for_file(job_dir / "output.log")
    _wait_until_logged(job_dir, b"started")
    assert stop_job(job_dir)
    status = wait_for_exit(job_dir, WAIT)
    assert (status.status, status.termination_reason) == ("terminated", "terminated_by_user")
    assert b"cleaning up" in (job_dir / "output.log").read_bytes()
    _wait_for_status(db, job.id, JobStatus.TERMINATED)  # the row follows the exit file
    record = get_job(db, job.id)
    assert record.termination_reason is JobTerminationReason.TERMINATED_BY_USER


def test_stop_kills_a_script_that_ignores_sigterm_after_the_grace_period(db, job, tmp_path):
    body = "trap '' TERM\necho started\nwhile true; do sleep 0.1; done\n"
    job_dir, _ = _start(db, job, tmp_path, body, grace_seconds=0.5)
    _wait_until_logged(job_dir, b"started")
    stop_job(job_dir)
    status = wait_for_exit(job_dir, WAIT)
    assert status.status == "terminated"
    assert status.signal == signal.SIGKILL


def test_abort_kills_at_once_without_sigterm(db, job, tmp_path):
    body = "trap 'echo got sigterm' TERM\necho started\nwhile true; do sleep 0.1; done\n"
    job_dir, _ = _start(db, job, tmp_path, body, grace_seconds=60)
    _wait_until_logged(job_dir, b"started")
    assert stop_job(job_dir, abort=True)
    status = wait_for_exit(job_dir, WAIT)  # well before the 60 s grace
    assert (status.status, status.termination_reason) == ("terminated", "aborted_by_user")
    assert status.signal == signal.SIGKILL
    assert b"got sigterm" not in (job_dir / "output.log").read_bytes()
    _wait_for_status(db, job.id, JobStatus.TERMINATED)  # the row follows the exit file
    assert get_job(db, job.id).termination_reason is JobTerminationReason.ABORTED_BY_USER


def test_stop_reaches_background_children_of_the_script(db, job, tmp_path):
    body = "sleep 1000 &\necho $! > child.pid\nwait\n"
    job_dir, _ = _start(db, job, tmp_path, body, working_dir=tmp_path, grace_seconds=5)
    child = _wait_for_pid(tmp_path / "child.pid")
    stop_job(job_dir)
    wait_for_exit(job_dir, WAIT)
    assert _gone(child)


def test_stop_with_another_reason(db, job, tmp_path):
    job_dir, _ = _start(db, job, tmp_path, "echo started\nsleep 1000\n")
    _wait_until_logged(job_dir, b"started")
    stop_job(job_dir, reason="interrupted_by_no_capacity")
    status = wait_for_exit(job_dir, WAIT)
    assert status.termination_reason == "interrupted_by_no_capacity"
    _wait_for_status(db, job.id, JobStatus.FAILED)  # the row follows the exit file


def test_stop_after_the_end_says_so(db, job, tmp_path):
    job_dir, _ = _start(db, job, tmp_path, "true\n")
    wait_for_exit(job_dir, WAIT)
    assert _gone(read_pid_file(job_dir).pid)
    assert stop_job(job_dir) is False


def test_max_duration_terminates_the_job(db, job, tmp_path):
    job_dir, _ = _start(
        db, job, tmp_path, "echo started\nsleep 1000\n", max_duration=0.5, grace_seconds=1
    )
    status = wait_for_exit(job_dir, WAIT)
    assert (status.status, status.termination_reason) == ("terminated", "max_duration_exceeded")
    _wait_for_status(db, job.id, JobStatus.TERMINATED)
    assert get_job(db, job.id).termination_reason is JobTerminationReason.MAX_DURATION_EXCEEDED


def test_missing_working_dir_is_an_executor_error(db, job, tmp_path):
    job_dir, _ = _start(db, job, tmp_path, "true\n", working_dir=tmp_path / "missing")
    status = wait_for_exit(job_dir, WAIT)
    assert (status.status, status.termination_reason) == ("failed", "executor_error")
    _wait_for_status(db, job.id, JobStatus.FAILED)  # the row follows the exit file
    record = get_job(db, job.id)
    assert "cannot start the job script" in record.error


def test_a_job_stopped_before_its_supervisor_started_does_not_run(db, job, tmp_path):
    set_job_status(
        db,
        job.id,
        JobStatus.TERMINATING,
        termination_reason=JobTerminationReason.TERMINATED_BY_USER,
    )
    job_dir, _ = _start(db, job, tmp_path, "echo should not run\n")
    status = wait_for_exit(job_dir, WAIT)
    assert status.status == "terminated"
    assert not (job_dir / "output.log").exists()
    _wait_for_status(db, job.id, JobStatus.TERMINATED)  # the row follows the exit file


def test_kill_9_of_the_supervisor_kills_the_whole_job_and_fails_it(db, job, tmp_path):
    # A child that left the job's session (setsid) must die with the job too.
    body = (
        "echo $$ > job.pid\n"
        "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > escaped.pid\n"
        "sleep 1000\n"
    )
    job_dir, handle = _start(db, job, tmp_path, body, working_dir=tmp_path)
    escaped_pid = _wait_for_pid(tmp_path / "escaped.pid")
    job_pid = int((tmp_path / "job.pid").read_text())  # written whole before escaped.pid
    # The job starts first; `running` is recorded beside it, moments later.
    _wait_for_status(db, job.id, JobStatus.RUNNING)
    assert reconcile_jobs(db) == []  # alive: nothing to do
    assert get_job(db, job.id).status is JobStatus.RUNNING
    os.kill(handle.pid, signal.SIGKILL)
    assert _gone(handle.pid)
    assert is_running(job_pid) and is_running(escaped_pid)  # the job outlived its supervisor

    changed = reconcile_jobs(db)

    assert [j.id for j in changed] == [job.id]
    record = get_job(db, job.id)
    assert record.status is JobStatus.FAILED
    assert record.termination_reason is JobTerminationReason.EXECUTOR_ERROR
    assert record.error == "supervisor vanished"
    assert _gone(job_pid) and _gone(escaped_pid)


def test_a_setsid_child_does_not_outlive_its_job(db, job, tmp_path):
    body = "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > escaped.pid\nexit 0\n"
    job_dir, _ = _start(db, job, tmp_path, body, working_dir=tmp_path)
    assert wait_for_exit(job_dir, WAIT).status == "done"
    assert _gone(int((tmp_path / "escaped.pid").read_text()))


def test_reconcile_applies_a_recorded_exit_status_the_db_missed(db, job, tmp_path):
    # A supervisor without a job id writes only the file, like one that died before the DB.
    job_dir = tmp_path / "job"
    handle = start_supervisor(job_dir, script=_script(tmp_path, "exit 7\n"))
    wait_for_exit(job_dir, WAIT)
    set_job_status(db, job.id, JobStatus.RUNNING)
    update_job(
        db,
        job.id,
        job_dir=str(job_dir),
        supervisor_pid=handle.pid,
        supervisor_token=handle.token,
        supervisor_host=handle.host,
    )
    reconcile_jobs(db)
    record = get_job(db, job.id)
    assert (record.status, record.exit_status) == (JobStatus.FAILED, 7)
    assert record.termination_reason is JobTerminationReason.CONTAINER_EXITED_WITH_ERROR


def test_a_reused_pid_is_not_taken_for_the_supervisor(db, job, tmp_path):
    import socket

    set_job_status(db, job.id, JobStatus.RUNNING)
    me = os.getpid()  # a live process, but not the one that was recorded
    update_job(
        db,
        job.id,
        job_dir=str(tmp_path / "nothing"),
        supervisor_pid=me,
        supervisor_token="other-boot:12345",
        supervisor_host=socket.gethostname(),
    )
    assert is_alive(me, process_token(me))
    assert not is_alive(me, "other-boot:12345")
    reconcile_jobs(db)
    _wait_for_status(db, job.id, JobStatus.FAILED)  # the row follows the exit file


def test_reconcile_leaves_jobs_of_other_hosts_alone(db, job):
    set_job_status(db, job.id, JobStatus.RUNNING)
    update_job(db, job.id, supervisor_pid=1, supervisor_token="x:1", supervisor_host="elsewhere")
    assert reconcile_jobs(db) == []
    assert get_job(db, job.id).status is JobStatus.RUNNING


def test_supervisor_runs_from_the_command_line_without_a_database(tmp_path):
    import subprocess
    import sys

    job_dir = tmp_path / "job"
    job_dir.mkdir()
    script = _script(tmp_path, "printf partial\nexit 2\n")
    out = subprocess.run(
        [sys.executable, "-m", "fleetstack.engine.runner.supervisor", "--job-dir", str(job_dir)]
        + ["--script", str(script)],
        capture_output=True,
        timeout=WAIT,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert jobfiles.read_exit_status(job_dir).code == 2
    assert jobfiles.read_log(job_dir) == b"partial"


def _wait_until_logged(job_dir: Path, text: bytes) -> None:
    deadline = time.monotonic() + WAIT
    while text not in jobfiles.read_log(job_dir):
        assert time.monotonic() < deadline, f"{text!r} never logged"
        time.sleep(0.05)
