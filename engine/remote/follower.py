"""The local side of a remote job: `python -m fleetstack.engine.remote.follower --job-dir DIR`.

It stands where the local supervisor stands (engine/runner/supervisor.py), with the same
files in DIR and the same contract, so `dstack ps`, `logs`, `stop`, an attached apply and
reconcile_jobs treat a remote job like a local one: it names itself in DIR/supervisor.pid,
reads what to run from DIR/remote.json (0600), connects to the host, uploads the project
(DIR/code), job.sh and DIR/files/* (kept with their modes), starts the job detached there,
then copies the remote log into DIR/output.log from the offset it has (a dropped connection
is reopened and resumes there: no byte lost or doubled) until the host records the exit
code, which becomes DIR/exit_status.json and the job's final status. SIGTERM = stop (the
host's supervisor gives the grace, then kills), SIGUSR1 = abort.

If the host stays unreachable for UNREACHABLE_SECONDS the job fails (instance_unreachable)
and the job may still run there. If this process dies, the next refresh (engine/remote/
start.py revive_followers, called by the lifecycle before reconcile_jobs) starts another,
which finds DIR/remote_started and resumes following from the log's last byte.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, TypedDict

from ..errors import FleetstackError
from ..models.jobs import JobSpec
from ..models.json import JSONObject
from ..runner import jobfiles, supervisor
from . import jobs as remote
from .connection import Connection, SSHError, SSHTarget

SPEC_FILE = "remote.json"
FILES_DIR = "files"  # extra files for the host's job dir, e.g. a 0600 job.env
STARTED_FILE = "remote_started"  # the host's job dir, once the job was started there
POLL_SECONDS = 0.2
UNREACHABLE_SECONDS = 120.0


class RemoteSpec(TypedDict):
    """What remote.json holds."""

    target: JSONObject
    job: JSONObject  # JobSpec fields, without DSTACK_WORKING_DIR
    job_id: str | None
    database_url: str | None
    grace_seconds: float
    max_duration: float | None
    gpu_vendor: str | None
    home: NotRequired[str | None]


def target_to_json(target: SSHTarget) -> JSONObject:
    return {
        "hostname": target.hostname,
        "port": target.port,
        "user": target.user,
        "identity_file": target.identity_file,
        "proxy_jump": target_to_json(target.proxy_jump) if target.proxy_jump else None,
    }


def target_from_json(data: JSONObject) -> SSHTarget:
    jump = data.get("proxy_jump")
    identity = data.get("identity_file")
    return SSHTarget(
        hostname=str(data["hostname"]),
        port=int(str(data.get("port") or 22)),
        user=str(data.get("user") or "root"),
        identity_file=str(identity) if identity else None,
        proxy_jump=target_from_json(jump) if isinstance(jump, dict) else None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleetstack.engine.remote.follower")
    parser.add_argument("--job-dir", required=True, type=Path)
    parser.add_argument("--detach", action="store_true", help="fork, print the pid, return")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, supervisor.on_stop)
    signal.signal(signal.SIGINT, supervisor.on_stop)
    signal.signal(signal.SIGUSR1, supervisor.on_abort)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    job_dir = args.job_dir.resolve()
    spec: RemoteSpec = json.loads((job_dir / SPEC_FILE).read_text())
    supervisor.name_self(job_dir, detach=args.detach)
    return Follower(job_dir, spec).follow()


@dataclass
class _Sent:
    stop: bool = False
    abort: bool = False


class Follower(supervisor.Supervisor):
    """One remote job followed to its end; the bookkeeping is the local supervisor's."""

    def __init__(self, job_dir: Path, spec: RemoteSpec) -> None:
        super().__init__(
            job_dir,
            {
                "script": "job.sh",
                "job_id": spec["job_id"],
                "database_url": spec["database_url"],
                "grace_seconds": spec["grace_seconds"],
                "max_duration": spec["max_duration"],
            },
        )
        self.target = target_from_json(spec["target"])
        self.job = _job_from_json(spec["job"])
        self.gpu_vendor = spec["gpu_vendor"]
        self.home = spec.get("home")  # the SSH user's home, when registration recorded it
        self.conn: Connection | None = None
        self.sent = _Sent()
        self.unreachable = False

    def follow(self) -> int:
        """Start the job on the host (unless a previous follower did: then resume following
        it) and follow it to its end; returns 0."""
        started = self.job_dir / STARTED_FILE
        if started.exists():
            self._record_start()  # this process answers for the job now
            return self._follow(started.read_text().strip())
        threading.Thread(target=_warm_imports, daemon=True).start()
        try:
            self.conn = Connection(self.target)
            rdir = self._start(self.conn)
            started.write_text(rdir + "\n")
        except (FleetstackError, OSError, ValueError) as e:
            self._close()
            self._db_start()
            return self._finish(
                None, None, error=f"cannot start the job on {self.target.name}: {e}"
            )
        self._record_start()
        return self._follow(rdir)

    def _record_start(self) -> None:
        # SQLAlchemy takes ~0.4 s to load: the bookkeeping runs beside the job's first polls
        # (a job found finished meanwhile is aborted, as the local supervisor does).
        self._start_thread = threading.Thread(target=self._db_start_beside, daemon=True)
        self._start_thread.start()

    def _follow(self, rdir: str) -> int:
        writer = jobfiles.LogWriter(self.job_dir)
        try:
            code = self._pump_remote(rdir, writer)
        finally:
            writer.close()
            self._close()
        if code is None:
            self.unreachable = True
            return self._finish(None, None, error=f"{self.target.name} unreachable")
        if code < 0:
            return self._finish(None, None, error="the job's supervisor on the host vanished")
        if code > 128 and (self.sent.abort or self.sent.stop):
            return self._finish(None, code - 128)
        return self._finish(code, None)

    def _outcome(self, code: int | None, sig: int | None, error: str | None) -> tuple[str, str]:
        if self.unreachable and not (self.sent.stop or self.sent.abort):
            return "failed", "instance_unreachable"
        return super()._outcome(code, sig, error)

    def _start(self, conn: Connection) -> str:
        # Loaded here, after the fork the starting CLI waits for, and warmed meanwhile by
        # _warm_imports: jinja2 (templates/render) and the configuration models that
        # runs/jobs imports take ~0.4 s, time the first log line would otherwise wait.
        from ...templates.render import render_job_script
        from ..runs.jobs import job_for_submission

        home = self.home or remote.remote_home(conn)
        rdir = remote.remote_job_dir(home, str(self.job_id or "job"))
        job = job_for_submission(self.job, Path(rdir) / "code")
        script = render_job_script(job, gpu_vendor=self.gpu_vendor)
        tar = remote.archive(self.job_dir / "code", script, _extra_files(self.job_dir))
        unit = f"fleetstack-job-{str(self.job_id or 'job')[:12]}"
        remote.start(
            conn, rdir, tar, grace_seconds=self.grace, container=bool(job.image), unit=unit
        )
        return rdir

    def _pump_remote(self, rdir: str, writer: jobfiles.LogWriter) -> int | None:
        """Copy the log until the job ends; its exit code, -1 when its supervisor vanished,
        None when the host stayed unreachable."""
        offset = (self.job_dir / jobfiles.LOG_FILE).stat().st_size
        started = time.monotonic()
        deadline = started + self.max_duration if self.max_duration else None
        lost_since: float | None = None
        while True:
            requests = supervisor.stop_requests()
            if deadline is not None and time.monotonic() >= deadline and not requests.stop:
                self.deadline_hit = True
                supervisor.on_stop(signal.SIGTERM, None)
            try:
                conn = self._connection()
                self._forward_requests(conn, rdir)
                status = remote.read_status(conn, rdir, offset=offset)
            except (SSHError, FleetstackError):
                self._close()
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > UNREACHABLE_SECONDS:
                    return None
                time.sleep(1.0)
                continue
            lost_since = None
            writer.append(status.chunk)
            offset += len(status.chunk)
            if len(status.chunk) >= remote.READ_LIMIT:
                continue  # more is waiting
            if status.exit_code is not None:
                return status.exit_code
            if not status.alive:
                return -1
            time.sleep(POLL_SECONDS)

    def _forward_requests(self, conn: Connection, rdir: str) -> None:
        requests = supervisor.stop_requests()
        if requests.abort and not self.sent.abort:
            _send(conn, rdir, abort=True)
            self.sent.abort = True
        elif requests.stop and not self.sent.stop and not self.sent.abort:
            _send(conn, rdir, abort=False)
            self.sent.stop = True

    def _connection(self) -> Connection:
        if self.conn is None or self.conn.is_closed:
            self.conn = Connection(self.target)
        return self.conn

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _warm_imports() -> None:
    """Load what rendering the job script needs while the connection is being made."""
    from ...templates import render  # noqa: F401
    from ..runs import jobs  # noqa: F401


def _send(conn: Connection, rdir: str, *, abort: bool) -> bool:
    return remote.stop(conn, rdir, abort=abort)


def _job_from_json(data: JSONObject) -> JobSpec:
    fields = dict(data)
    ports = fields.pop("ports", None)
    job = JobSpec(**fields)  # type: ignore[arg-type]
    pairs = ports if isinstance(ports, list) else []
    job.ports = [(int(str(p[0])), int(str(p[1]))) for p in pairs if isinstance(p, list)]
    return job


def _extra_files(job_dir: Path) -> dict[str, tuple[bytes, int]]:
    root = job_dir / FILES_DIR
    if not root.is_dir():
        return {}
    return {
        path.relative_to(root).as_posix(): (path.read_bytes(), path.stat().st_mode & 0o777)
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


if __name__ == "__main__":
    sys.exit(main())
