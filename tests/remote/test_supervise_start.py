"""engine/remote/supervise.sh started as a non-root SSH user of a job with an image: it names
itself (supervisor.pid, which the starter waits for) before it asks `docker info` whether it
needs sudo, so a host whose docker answers slowly does not make the start look failed. A fake
`docker` that blocks on a FIFO holds the supervisor in that probe for as long as the test likes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleetstack.engine.remote.jobs import SUPERVISE_SCRIPT

from ..helpers import WAIT, is_running, wait_for

NOBODY = 65534


@dataclass
class Held:
    dir: Path
    hold: Path  # the FIFO the fake `docker info` reads until the test writes to it
    proc: subprocess.Popen[bytes]

    def pid(self) -> int | None:
        """The supervisor's pid once it has named itself (the file is written, then renamed)."""
        try:
            return int((self.dir / "supervisor.pid").read_text())
        except FileNotFoundError:
            return None

    def release_docker(self) -> None:
        with open(self.hold, "w") as fifo:  # blocks until `docker info` reads: then EOF
            fifo.write("")


@pytest.fixture
def held() -> Iterator[Held]:
    if shutil.which("runuser") is None:
        pytest.skip("needs runuser (util-linux) to start the supervisor as a non-root user")
    root = Path(tempfile.mkdtemp(prefix="fs-supervise-"))  # nobody cannot enter pytest's tmp
    job, bin_dir = root / "job", root / "bin"
    for folder in (job, job / "code", bin_dir):
        folder.mkdir()
    shutil.copy(SUPERVISE_SCRIPT, job / "supervise.sh")
    (job / "job.sh").write_text("echo ran\n")
    hold = root / "hold"
    os.mkfifo(hold)
    docker = bin_dir / "docker"
    docker.write_text(f'#!/bin/sh\ncat "{hold}" >/dev/null\n')
    docker.chmod(0o755)
    for path in (root, job, job / "code", job / "supervise.sh", job / "job.sh", hold):
        os.chown(path, NOBODY, NOBODY)
    for path in (root, bin_dir):  # whatever this process's umask made them
        path.chmod(0o755)
    env = ["env", "-i", f"PATH={bin_dir}:/usr/sbin:/usr/bin:/sbin:/bin", f"HOME={root}"]
    proc = subprocess.Popen(
        ["runuser", "-u", "nobody", "--", *env, "setsid", "-w", "bash", str(job / "supervise.sh")]
        + [str(job), "5", "1"],  # a session leader as on a host; grace 5 s; the job has an image
        start_new_session=True,
    )
    held = Held(job, hold, proc)
    try:
        yield held
    finally:
        for group in (held.pid(), proc.pid):  # the supervisor leads a session of its own
            if group is not None and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, signal.SIGKILL)
        proc.wait(timeout=WAIT)
        shutil.rmtree(root, ignore_errors=True)


def test_the_supervisor_names_itself_while_docker_is_still_answering(held):
    pid = wait_for(held.pid, "supervisor.pid, while `docker info` is held")
    assert not (held.dir / "exit_code").exists()  # still probing: the job has not run
    held.release_docker()
    wait_for(lambda: (held.dir / "exit_code").exists(), "the job to end")
    assert (held.dir / "exit_code").read_text() == "0\n"
    assert (held.dir / "output.log").read_text() == "ran\n"
    assert held.proc.wait(timeout=WAIT) == 0
    assert not is_running(pid)


def test_an_abort_while_docker_is_probed_ends_it_before_the_job_runs(held):
    pid = wait_for(held.pid, "supervisor.pid, while `docker info` is held")
    os.kill(pid, signal.SIGUSR1)  # `dstack stop -x` on the host: kills the probe with the rest
    wait_for(lambda: (held.dir / "exit_code").exists(), "the aborted supervisor to record")
    assert (held.dir / "exit_code").read_text() == "137\n"
    log = held.dir / "output.log"
    assert not log.exists() or b"ran" not in log.read_bytes()  # the job never ran
    assert held.proc.wait(timeout=WAIT) == 0
