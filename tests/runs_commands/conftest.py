"""Fixtures for `dstack ps / logs / stop / delete`: real supervisors, a real SQLite file, the
real CLI as a subprocess. tests/conftest.py already gives each test its own HOME and
DSTACK_HOME (in os.environ, so the subprocesses see them too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fleetstack.engine.paths import dstack_home
from fleetstack.engine.runner.jobcontrol import start_supervisor
from fleetstack.engine.state import (
    close_all,
    create_job,
    create_run,
    open_state,
    update_job,
    update_run,
)
from fleetstack.templates.render import JobSpec, render_job_script

from ..helpers import WAIT, wait_for

DSTACK = str(Path(sys.executable).parent / "dstack")

TASK_TEMPLATE = """type: task
name: {name}
commands:
{commands}
resources:
  cpu: 1..
  memory: 1GB..
  disk: 1GB..
"""


def dstack(*args: str, input: str | None = None, timeout: float = WAIT, cwd: Any = None):
    """Run the real CLI; returns the CompletedProcess (bytes stdout, text stderr)."""
    proc = subprocess.run(
        [DSTACK, *args],
        input=input.encode() if input is not None else None,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        env=os.environ.copy(),
        cwd=cwd,
    )
    proc.stderr = proc.stderr.decode(errors="replace")
    return proc


def ps_json(*args: str) -> dict[str, dict[str, Any]]:
    """`dstack ps --json ARGS` as {name: run}."""
    proc = dstack("ps", "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return {run["name"]: run for run in json.loads(proc.stdout)["runs"]}


def run_of(name: str) -> dict[str, Any] | None:
    return ps_json("-a").get(name)


def wait_for_status(name: str, *statuses: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        run = run_of(name)
        return run if run is not None and run["status"] in statuses else None

    return wait_for(check, f"run {name} to be {' or '.join(statuses)}")


def job_dir(name: str) -> Path:
    """$DSTACK_HOME/runs/NAME-ID8/job-0-0 of the live run called NAME."""
    runs = Path(os.environ["DSTACK_HOME"]) / "runs"
    found = sorted(runs.glob(f"{name}-*/job-0-0"), key=lambda p: p.stat().st_mtime)
    assert found, f"no job dir for {name} under {runs}"
    return found[-1]


def read_until(proc: subprocess.Popen[bytes], marker: bytes) -> bytes:
    """Read `proc`'s stdout until `marker` has appeared; fail if it ends before that."""
    assert proc.stdout is not None
    seen = b""
    while marker not in seen:
        chunk = proc.stdout.read1(4096)
        assert chunk, f"{proc.args} ended before printing {marker!r}"
        seen += chunk
    return seen


class Cli:
    """The helpers above, as one fixture (test modules cannot import conftest)."""

    wait = WAIT
    executable = DSTACK
    run = staticmethod(dstack)
    ps_json = staticmethod(ps_json)
    run_of = staticmethod(run_of)
    wait_for = staticmethod(wait_for)
    wait_for_status = staticmethod(wait_for_status)
    job_dir = staticmethod(job_dir)
    read_until = staticmethod(read_until)
    wait_on = staticmethod(lambda gate: wait_on(gate))


@pytest.fixture
def cli() -> Cli:
    return Cli()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder (the configuration files go there; it is copied to the job)."""
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def submit(project: Path) -> Callable[..., str]:
    """submit(name, commands, extra="", until=None) -> name: `dstack apply -f F -y -d` of a
    local task; with `until` ("running", "done", ...), once the run has that status."""

    def _submit(name: str, commands: list[str], extra: str = "", until: str | None = None) -> str:
        body = "\n".join(f"  - {json.dumps(c)}" for c in commands)
        config = project / f"{name}.dstack.yml"
        config.write_text(TASK_TEMPLATE.format(name=name, commands=body) + extra)
        proc = dstack("apply", "-f", str(config), "-y", "-d", cwd=project)
        assert proc.returncode == 0, proc.stderr + proc.stdout.decode(errors="replace")
        if until is not None:
            wait_for_status(name, until)
        return name

    return _submit


@pytest.fixture
def gate(tmp_path: Path) -> Path:
    """A file a job waits for: `until [ -e GATE ]; do sleep 0.1; done` (touch it to go on)."""
    return tmp_path / "gate"


def wait_on(gate: Path) -> str:
    return f"until [ -e {gate} ]; do sleep 0.1; done"


@pytest.fixture
def state():
    yield open_state()
    close_all()


@pytest.fixture
def start_local_run(state, tmp_path):
    """start_local_run(name, commands, grace=10) -> RunRecord: a run whose job is a rendered
    job script under a real supervisor, built from the engine (no `dstack apply`)."""

    def _start(name: str, commands: list[str], *, grace: float = 10.0, stop_grace: int = 10):
        run = create_run(state, name=name, backend="local", region="local", price=0.0)
        run_dir = dstack_home() / "runs" / f"{name}-{run.id[:8]}"
        job_dir = run_dir / "job-0-0"
        job_dir.mkdir(parents=True)
        update_run(state, run.id, run_spec={"run_dir": str(run_dir)})
        job = create_job(state, run.id, job_dir=str(job_dir), log_path=str(job_dir / "output.log"))
        spec = JobSpec(
            run_name=name, run_id=run.id, commands=commands, stop_grace_seconds=stop_grace
        )
        script = job_dir / "job.sh"
        script.write_text(render_job_script(spec))
        handle = start_supervisor(
            job_dir,
            script=script,
            working_dir=tmp_path,
            job_id=job.id,
            database_url=state.url,
            grace_seconds=grace,
        )
        update_job(
            state,
            job.id,
            supervisor_pid=handle.pid,
            supervisor_token=handle.token,
            supervisor_host=handle.host,
        )
        return run

    return _start
