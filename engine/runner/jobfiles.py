"""A job's files and its log: raw output bytes, a time index, the exit status record.

A job dir holds (written by fleetstack.engine.runner.supervisor):

    output.log          the job's stdout+stderr, raw bytes exactly as written
    output.idx          one line "BYTE_OFFSET UNIX_TIME" per chunk appended to output.log
    exit_status.json    {"code", "signal", "finished_at", "status", "termination_reason",
                         "exit_status", "error"} written atomically when the job has ended
    supervisor.pid      {"pid", "token", "host"} of the supervisor process
    supervisor.json     what the supervisor runs (script, working dir, env...), mode 0600
    supervisor.log      the supervisor's own diagnostics
    stop_request        {"abort", "reason"}: why the supervisor is being signalled to stop
    job.env             the job's secret env values (engine/secrets), 0600, deleted when
                        the job ends

`read_log` and `follow_log` return bytes: decoding (and replacing bad bytes) is the
caller's choice, so nothing the job printed is lost on the way.
"""

from __future__ import annotations

import bisect
import json
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, TypedDict

from ..paths import dstack_home

LOG_FILE = "output.log"
ENV_FILE = "job.env"  # the job's secret env values (engine/secrets writes it), 0600
INDEX_FILE = "output.idx"
PROVISION_LOG = "provision.log"  # what the server did to bring the run's fleet up
EXIT_STATUS_FILE = "exit_status.json"
PID_FILE = "supervisor.pid"
SPEC_FILE = "supervisor.json"
SUPERVISOR_LOG_FILE = "supervisor.log"
STOP_REQUEST_FILE = "stop_request"
READ_CHUNK = 1 << 16


def default_job_dir(run_name: str, job_num: int = 0, submission_num: int = 0) -> Path:
    """Where a local job's files go by default: $DSTACK_HOME/runs/RUN/job-N-S."""
    return dstack_home() / "runs" / run_name / f"job-{job_num}-{submission_num}"


class SupervisorSpec(TypedDict, total=False):
    """What supervisor.json holds: the job the supervisor runs."""

    script: str
    working_dir: str
    env: dict[str, str]
    inherit_env: bool
    job_id: str | None
    database_url: str | None
    grace_seconds: float
    max_duration: float | None


@dataclass(frozen=True)
class ExitStatus:
    """What exit_status.json records about how a job ended."""

    code: int | None  # the script's exit code, None when killed by a signal or never started
    signal: int | None  # the signal that killed it
    finished_at: float  # unix time
    status: str  # final JobStatus value: done / failed / terminated
    termination_reason: str  # JobTerminationReason value
    exit_status: int | None  # code, or 128 + signal (shell convention)
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        return dict(self.__dict__)


def read_exit_status(job_dir: Path | str) -> ExitStatus | None:
    """The recorded exit status, None while the job has not ended."""
    try:
        data = json.loads((Path(job_dir) / EXIT_STATUS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return ExitStatus(**{k: data.get(k) for k in ExitStatus.__dataclass_fields__})


def write_exit_status(job_dir: Path | str, exit_status: ExitStatus) -> None:
    """Atomically write exit_status.json (temp file + rename: readers see all or nothing)."""
    write_json_atomic(Path(job_dir) / EXIT_STATUS_FILE, exit_status.to_json())


def write_json_atomic(path: Path, data: Mapping[str, object], mode: int = 0o600) -> None:
    """Write `data` as JSON to `path` at once: readers see the old file or the new one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class LogWriter:
    """Appends chunks to output.log and one index line per chunk to output.idx."""

    def __init__(self, job_dir: Path | str) -> None:
        job_dir = Path(job_dir)
        self._log: BinaryIO = open(job_dir / LOG_FILE, "ab", buffering=0)  # noqa: SIM115
        self._index: BinaryIO = open(job_dir / INDEX_FILE, "ab", buffering=0)  # noqa: SIM115
        self._offset = self._log.seek(0, os.SEEK_END)

    def append(self, chunk: bytes, at: float | None = None) -> None:
        if not chunk:
            return
        at = time.time() if at is None else at
        view = memoryview(chunk)
        while view:  # a short write on a full disk must not drop the rest silently
            written = self._log.write(view)
            view = view[written:]
        self._index.write(f"{self._offset} {at:.6f}\n".encode())
        self._offset += len(chunk)

    def close(self) -> None:
        self._log.close()
        self._index.close()


def read_log(
    job_dir: Path | str, *, since: datetime | float | None = None, start: int | None = None
) -> bytes:
    """The log from the first chunk written at or after `since` (or from byte `start`)."""
    job_dir = Path(job_dir)
    offset = start if start is not None else offset_since(job_dir, since)
    try:
        with open(job_dir / LOG_FILE, "rb") as f:
            f.seek(offset)
            return f.read()
    except FileNotFoundError:
        return b""


def follow_log(
    job_dir: Path | str,
    *,
    since: datetime | float | None = None,
    poll_interval: float = 0.2,
    is_finished: Callable[[], bool] | None = None,
    timeout: float | None = None,
) -> Iterator[bytes]:
    """Yield the log's bytes as they are written (tail -f) until the job has ended.

    Ends after the last byte once `is_finished()` is true (default: exit_status.json
    exists), or when `timeout` seconds pass. The log may not exist yet: it is waited for.
    """
    job_dir = Path(job_dir)
    finished = is_finished or (lambda: (job_dir / EXIT_STATUS_FILE).exists())
    deadline = None if timeout is None else time.monotonic() + timeout
    offset = offset_since(job_dir, since)
    f: BinaryIO | None = None
    try:
        while True:
            done = finished()  # checked before reading, so the last bytes are never missed
            if f is None:
                try:
                    f = open(job_dir / LOG_FILE, "rb")  # noqa: SIM115
                    f.seek(offset)
                except FileNotFoundError:
                    f = None
            got = False
            if f is not None:
                while chunk := f.read(READ_CHUNK):
                    got = True
                    yield chunk
            if done:
                return
            if deadline is not None and time.monotonic() >= deadline:
                return
            if not got:
                time.sleep(poll_interval)
    finally:
        if f is not None:
            f.close()


def offset_since(job_dir: Path | str, since: datetime | float | None) -> int:
    """Byte offset of the first chunk written at or after `since` (0 when None)."""
    if since is None:
        return 0
    when = since.timestamp() if isinstance(since, datetime) else float(since)
    offsets, times = read_index(job_dir)
    i = bisect.bisect_left(times, when)
    if i < len(offsets):
        return offsets[i]
    try:
        return (Path(job_dir) / LOG_FILE).stat().st_size  # everything is older: nothing
    except FileNotFoundError:
        return 0


def read_index(job_dir: Path | str) -> tuple[list[int], list[float]]:
    """The (offsets, times) of output.idx; a torn last line (being written) is skipped."""
    offsets: list[int] = []
    times: list[float] = []
    try:
        data = (Path(job_dir) / INDEX_FILE).read_bytes()
    except FileNotFoundError:
        return offsets, times
    for line in data.split(b"\n")[:-1]:  # the part after the last newline may be torn
        parts = line.split()
        if len(parts) != 2:
            continue
        try:
            offset, at = int(parts[0]), float(parts[1])
        except ValueError:
            continue
        if times and at < times[-1]:
            at = times[-1]  # a clock step backwards must not break the bisection
        offsets.append(offset)
        times.append(at)
    return offsets, times
