"""A run's ports on the user's machine: forwarded over SSH to 127.0.0.1 while attached.

    forwards = planned_forwards(configuration.ports, parse_port_flags(["8000:6000"]))
    check_free(forwards)                     # FleetstackError naming a local port in use
    with RunPorts(run, forwards) as opened:  # listening now; closed on exit
        ...

A task's `ports` (`6000`, `"8000:6000"` = local:remote) and `-p/--port LOCAL:REMOTE` (which
wins for that remote port) say which local port serves which port of the job. The job's
instance is reached as the job runs there (engine/remote/start.py instance_target); a job
on this machine needs no forward: its ports are this machine's already.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import PortMapping
from ..errors import FleetstackError
from ..state import RunRecord, State, get_instance, jobs_of_run
from .connection import Connection
from .start import instance_target, is_remote


@dataclass(frozen=True)
class PortForward:
    local_port: int
    remote_port: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.local_port}"

    def describe(self) -> str:
        return f"http://{self.address} -> port {self.remote_port} of the job"


def parse_port_flags(values: Sequence[str]) -> dict[int, int]:
    """-p/--port values (`8000:6000` = LOCAL:REMOTE, or `6000`) as {remote: local}."""
    mapped: dict[int, int] = {}
    for value in values:
        local, _, remote = value.rpartition(":")
        try:
            remote_port = int(remote)
            local_port = int(local) if local else remote_port
        except ValueError:
            raise FleetstackError(
                f"-p/--port {value}: expected LOCAL:REMOTE ports such as 8000:6000, or 6000"
            ) from None
        for port in (local_port, remote_port):
            if not 1 <= port <= 65535:
                raise FleetstackError(f"-p/--port {value}: {port} is not a port (1-65535)")
        mapped[remote_port] = local_port
    return mapped


def planned_forwards(ports: Sequence[PortMapping], flags: dict[int, int]) -> list[PortForward]:
    """The configuration's ports, remapped by the -p flags; a flag for a port the
    configuration does not list forwards that port too."""
    forwards = {p.container_port: p.local_port or p.container_port for p in ports}
    forwards.update(flags)
    return [PortForward(local, remote) for remote, local in forwards.items()]


def check_free(forwards: Sequence[PortForward]) -> None:
    """FleetstackError naming the first local port that something else listens on."""
    for forward in forwards:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", forward.local_port))
            except OSError as e:
                if e.errno != errno.EADDRINUSE:
                    raise
                raise FleetstackError(
                    f"local port {forward.local_port} (for port {forward.remote_port} of the "
                    f"job) is in use: free it, or map it elsewhere with "
                    f"-p/--port LOCAL:{forward.remote_port}"
                ) from None


class RunPorts:
    """The forwards of one job of a run (job 0 by default), open while in the `with`."""

    def __init__(
        self, state: State, run: RunRecord, forwards: Sequence[PortForward], job_num: int = 0
    ) -> None:
        self.state = state
        self.run = run
        self.forwards = list(forwards)
        self.job_num = job_num
        self.conn: Connection | None = None

    def __enter__(self) -> list[PortForward]:
        return self.open()

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def open(self) -> list[PortForward]:
        """Listen on each local port; [] when the job runs on this machine (nothing to do)."""
        if not self.forwards:
            return []
        jobs = [
            j for j in jobs_of_run(self.state, self.run.id, latest_only=True)
            if j.job_num == self.job_num
        ]  # fmt: skip
        if not jobs:
            raise FleetstackError(f"run {self.run.name} has no job {self.job_num}")
        instance = get_instance(self.state, jobs[0].instance_id) if jobs[0].instance_id else None
        if instance is None or not is_remote(instance):
            return []
        self.conn = Connection(instance_target(instance))
        try:
            for forward in self.forwards:
                self.conn.forward_port(forward.local_port, forward.remote_port)
        except FleetstackError:
            self.close()
            raise
        return self.forwards

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None
