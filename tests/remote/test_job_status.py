"""Reading a remote job's status over a real SSH connection, at the moment the job ends."""

from __future__ import annotations

import errno
import os
import subprocess
import threading
from pathlib import Path

from fleetstack.engine.remote import jobs as remote
from fleetstack.engine.remote.connection import Connection

from ..helpers import WAIT, wait_for
from .test_connection import target


def _dead_pid() -> int:
    ended = subprocess.Popen(["true"])
    ended.wait()
    return ended.pid


def _open_writer(fifo: Path) -> int | None:
    try:
        return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as e:
        if e.errno == errno.ENXIO:  # no reader yet
            return None
        raise


def test_a_job_that_ends_while_its_status_is_read_is_finished_not_vanished(sshd, tmp_path):
    """The supervisor records exit_code and exits between the status read's look at its
    pid and at exit_code: the job has ended with its code, its supervisor did not vanish.
    supervisor.pid is a FIFO, so the read stops exactly there until the test lets it go."""
    daemon = sshd()
    rdir = tmp_path / "job"
    rdir.mkdir()
    (rdir / "output.log").write_text("last line\n")
    fifo = rdir / "supervisor.pid"
    os.mkfifo(fifo)
    statuses: list[remote.RemoteStatus] = []
    with Connection(target(daemon)) as conn:
        reader = threading.Thread(
            target=lambda: statuses.append(remote.read_status(conn, str(rdir), offset=0))
        )
        reader.start()
        writer = wait_for(lambda: _open_writer(fifo), "the status read opening supervisor.pid")
        (rdir / "exit_code").write_text("7\n")  # the job ends, its supervisor records it...
        os.write(writer, f"{_dead_pid()}\n".encode())  # ...and is gone
        os.close(writer)
        reader.join(WAIT)
    assert [(s.exit_code, s.chunk) for s in statuses] == [(7, b"last line\n")]


def test_a_supervisor_gone_without_an_exit_code_has_vanished(sshd, tmp_path):
    daemon = sshd()
    rdir = tmp_path / "job"
    rdir.mkdir()
    (rdir / "supervisor.pid").write_text(f"{_dead_pid()}\n")
    with Connection(target(daemon)) as conn:
        status = remote.read_status(conn, str(rdir), offset=0)
    assert (status.exit_code, status.alive) == (None, False)
