"""A job on a remote host: upload, start detached, poll, read the log from an offset, stop.

    home = remote_home(conn)
    rdir = remote_job_dir(home, job_id)                  # $HOME/.fleetstack/jobs/<job id>
    start(conn, rdir, archive(code_dir, script, files), grace_seconds=30)
    poll = read_status(conn, rdir, offset=0)             # exit code (None: running), alive, bytes
    stop(conn, rdir)                                     # SIGTERM, grace, SIGKILL (on the host)
    stop(conn, rdir, abort=True)                         # SIGKILL now

On the host, DIR holds code/ (the project), job.sh (templates/ render it), supervise.sh (the
detached supervisor, engine/remote/supervise.sh), output.log, supervisor.pid and, once the
job has ended, exit_code. The project, the scripts and extra files travel as one tar stream.
A connection that drops loses nothing: the reader asks again from the offset it has.
"""

from __future__ import annotations

import io
import shlex
import tarfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import FleetstackError
from .connection import Connection

READ_LIMIT = 4 << 20  # bytes of log per poll: a fast writer is read in a few round trips
SUPERVISE_SCRIPT = Path(__file__).with_name("supervise.sh")
JOBS_DIR = ".fleetstack/jobs"  # under the SSH user's home

ExtraFiles = Mapping[str, tuple[bytes, int]]  # relative name in the job dir -> (content, mode)


@dataclass(frozen=True)
class RemoteStatus:
    """One poll: the exit code (None while running), whether the supervisor lives, new bytes."""

    exit_code: int | None
    alive: bool
    chunk: bytes


def remote_home(conn: Connection) -> str:
    """The SSH user's home directory on the host."""
    result = conn.run('printf %s "$HOME"')
    home = result.text().strip()
    if result.returncode != 0 or not home.startswith("/"):
        raise FleetstackError(f"{conn.target.name}: cannot read $HOME ({result.stderr!r})")
    return home


def remote_job_dir(home: str, job_id: str) -> str:
    return f"{home.rstrip('/')}/{JOBS_DIR}/{job_id}"


def archive(code_dir: Path, job_script: str, files: ExtraFiles | None = None) -> bytes:
    """One tar stream: code/ (the already filtered project copy), job.sh, supervise.sh, files."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(code_dir), arcname="code", recursive=True)
        _add_bytes(tar, "job.sh", job_script.encode("utf-8"), 0o700)
        _add_bytes(tar, "supervise.sh", SUPERVISE_SCRIPT.read_bytes(), 0o700)
        for name, (content, mode) in (files or {}).items():
            if name.startswith("/") or ".." in Path(name).parts:
                raise FleetstackError(f"extra job file {name!r}: must be a relative name")
            _add_bytes(tar, name, content, mode)
    return buffer.getvalue()


def start(
    conn: Connection,
    rdir: str,
    tar: bytes,
    *,
    grace_seconds: float,
    container: bool = False,
    unit: str = "fleetstack-job",
) -> int:
    """Unpack `tar` into rdir and start the detached supervisor; returns its pid on the host.

    Where the host runs systemd and we are root (or sudo -n works), the supervisor is a
    transient unit `unit` (systemd-run, as the SSH user); else `setsid nohup` detaches it.
    `container`: the job runs an image (it may need sudo for docker)."""
    d = shlex.quote(rdir)
    supervise = f"bash supervise.sh {d} {int(grace_seconds)} {int(container)}"
    command = (
        f"set -e; umask 077; mkdir -p {d}; tar --no-same-owner -x -C {d} -f -; cd {d}; sr=; "
        "if [ -d /run/systemd/system ] && command -v systemd-run >/dev/null 2>&1; then "
        '  if [ "$(id -u)" = 0 ]; then sr=systemd-run; '
        "  elif sudo -n true 2>/dev/null; then sr='sudo -n systemd-run'; fi; "
        "fi; "
        'if [ -n "$sr" ]; then '
        f"  $sr --quiet --collect --unit={shlex.quote(unit)} --uid=$(id -u) --gid=$(id -g) "
        f'--working-directory={d} --setenv=HOME="$HOME" {supervise} </dev/null >/dev/null; '
        f"else setsid nohup {supervise} </dev/null >/dev/null 2>&1 & fi; "
        "for _ in $(seq 1500); do [ -s supervisor.pid ] && break; sleep 0.02; done; "
        "cat supervisor.pid"
    )
    result = conn.run(command, stdin=tar, timeout=300.0)
    pid = result.text().strip()
    if result.returncode != 0 or not pid.isdigit():
        reason = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.returncode}"
        raise FleetstackError(f"{conn.target.name}: the job did not start: {reason}")
    return int(pid)


def read_status(
    conn: Connection, rdir: str, *, offset: int, limit: int = READ_LIMIT
) -> RemoteStatus:
    """The job's exit code (read before the log, so a final status comes with the whole log),
    whether its supervisor is alive, and up to `limit` log bytes from byte `offset`.

    Liveness is read first, then the exit code: the supervisor writes exit_code before it
    exits, so "not alive and no exit code" means it really vanished. (The other order took a
    job that ended between the two reads for a vanished supervisor: seen once in CI.)"""
    d = shlex.quote(rdir)
    command = (
        f'a=0; if kill -0 "$(cat {d}/supervisor.pid 2>/dev/null)" 2>/dev/null; then a=1; fi; '
        f"s=$(cat {d}/exit_code 2>/dev/null) || s=-; "
        'printf "%s %s\\n" "$s" "$a"; '
        f"tail -c +{offset + 1} {d}/output.log 2>/dev/null | head -c {limit}"
    )
    result = conn.run(command)
    head, _, chunk = result.stdout.partition(b"\n")
    fields = head.decode("ascii", "replace").split()
    if result.returncode != 0 or len(fields) != 2:
        raise FleetstackError(f"{conn.target.name}: cannot read the job's status in {rdir}")
    code = int(fields[0]) if fields[0].lstrip("-").isdigit() and fields[0] != "-" else None
    return RemoteStatus(exit_code=code, alive=fields[1] == "1", chunk=chunk)


def stop(conn: Connection, rdir: str, *, abort: bool = False) -> bool:
    """Signal the supervisor: stop (grace, then kill) or abort. False: it had already ended."""
    signal = "USR1" if abort else "TERM"
    d = shlex.quote(rdir)
    result = conn.run(f'kill -{signal} "$(cat {d}/supervisor.pid 2>/dev/null)" 2>/dev/null')
    return result.returncode == 0


def wait_started(conn: Connection, rdir: str, timeout: float = 5.0) -> None:
    """Return once the job's supervisor runs (tests and benchmarks)."""
    deadline = time.monotonic() + timeout
    while not read_status(conn, rdir, offset=0, limit=0).alive:
        if time.monotonic() > deadline:
            raise FleetstackError(f"{conn.target.name}: the job in {rdir} is not running")
        time.sleep(0.05)


def _add_bytes(tar: tarfile.TarFile, name: str, content: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mode = mode
    info.mtime = int(time.time())
    tar.addfile(info, io.BytesIO(content))
