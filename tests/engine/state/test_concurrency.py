"""Several processes and threads on one SQLite state file, as CLI commands use it."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from fleetstack.engine.state import (
    JobStatus,
    close_all,
    create_job,
    create_run,
    get_run_by_name,
    jobs_of_run,
    list_runs,
    open_state,
    set_job_status,
)
from fleetstack.engine.state.db import State


@pytest.fixture
def url(database_url):
    """SQLite and PostgreSQL (tests/conftest.py database_url)."""
    yield database_url
    close_all()


def _python(code: str, url: str) -> subprocess.CompletedProcess:
    script = f"from fleetstack.engine.state import *\nstate = open_state({url!r})\n{code}"
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )


def test_a_second_process_sees_writes(url):
    state = open_state(url)
    run = create_run(state, name="shared", configuration={"commands": ["echo hi"]})
    out = _python("r = get_run_by_name(state, 'shared'); print(r.id, r.configuration)", url)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split(" ", 1) == [run.id, "{'commands': ['echo hi']}\n"]

    out = _python("create_run(state, name='from-child')", url)
    assert out.returncode == 0, out.stderr
    assert get_run_by_name(state, "from-child") is not None


def test_concurrent_first_opens_migrate_once(url):
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                f"from fleetstack.engine.state import *\ncreate_run(open_state({url!r}))",
            ],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
    assert len(list_runs(open_state(url))) == 6


def test_ten_processes_writing_at_once_never_see_database_is_locked(url):
    open_state(url)
    code = (
        "for i in range(20):\n"
        "    r = create_run(state)\n"
        "    j = create_job(state, r.id)\n"
        "    set_job_status(state, j.id, JobStatus.RUNNING)\n"
    )
    script = f"from fleetstack.engine.state import *\nstate = open_state({url!r})\n{code}"
    procs = [
        subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE, text=True)
        for _ in range(10)
    ]
    errors = [p.communicate(timeout=180)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 10, errors
    assert not any("locked" in e for e in errors)
    runs = list_runs(open_state(url))
    assert len(runs) == 200
    assert len({r.name for r in runs}) == 200


def test_ten_threads_with_their_own_handles(url):
    open_state(url)
    failures: list[BaseException] = []

    def work(n: int) -> None:
        state = State(url)  # a separate engine, like a separate process
        try:
            for _ in range(15):
                run = create_run(state)
                job = create_job(state, run.id)
                set_job_status(state, job.id, JobStatus.PROVISIONING)
                assert jobs_of_run(state, run.id)[0].status is JobStatus.PROVISIONING
        except BaseException as e:  # noqa: BLE001 - reported by the assertion below
            failures.append(e)
        finally:
            state.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(list_runs(open_state(url))) == 150


def test_reads_are_not_blocked_by_an_open_write(url):
    state = open_state(url)
    create_run(state, name="before")
    other = State(url)
    try:
        with state.write() as session:
            from fleetstack.engine.state.models import RunRow

            session.get(RunRow, list_runs(other)[0].id).error = "x"
            # a reader on another connection still sees the committed data (WAL)
            assert [r.name for r in list_runs(other)] == ["before"]
            assert get_run_by_name(other, "before").error is None
        assert get_run_by_name(other, "before").error == "x"
    finally:
        other.close()
