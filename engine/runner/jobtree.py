"""Every process of one job, found and killed even after its supervisor died.

The job script runs as the leader of its own session; the supervisor also gives it a mark
in its environment (MARK_VAR, unique per job run) that every child inherits. A process
belongs to the job when it is in the script's session (and started after the script: a
later session with a reused id is not the job), or when its environment carries the mark:
that catches children that called `setsid` and left the session. The supervisor records
both in DIR/job_tree.json as soon as the script runs, so `reconcile_jobs` can kill the
job's processes when the supervisor itself was killed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import uuid
from dataclasses import dataclass
from pathlib import Path

from . import jobfiles

MARK_VAR = "FLEETSTACK_JOB_MARK"
TREE_FILE = "job_tree.json"
_ROUNDS = 5  # a process forking while we kill: look again, a few times


@dataclass(frozen=True)
class JobTree:
    sid: int  # the job script's pid, its session's id
    start_ticks: int  # the script's start time (clock ticks after boot)
    mark: str


def new_mark() -> str:
    return uuid.uuid4().hex


def record_tree(job_dir: Path, sid: int, mark: str) -> JobTree:
    """Write DIR/job_tree.json for the script just started as `sid` with `mark`."""
    tree = JobTree(sid=sid, start_ticks=_start_ticks(sid) or 0, mark=mark)
    jobfiles.write_json_atomic(
        job_dir / TREE_FILE,
        {"sid": tree.sid, "start_ticks": tree.start_ticks, "mark": tree.mark},
        mode=0o600,
    )
    return tree


def read_tree(job_dir: Path | str) -> JobTree | None:
    try:
        data = json.loads((Path(job_dir) / TREE_FILE).read_text())
        return JobTree(int(data["sid"]), int(data["start_ticks"]), str(data["mark"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def temp_dir(job_dir: Path) -> Path:
    """The job's TMPDIR: inside its folder, removed when the job ends."""
    return job_dir / "tmp"


def remove_temp_dir(job_dir: Path | str) -> None:
    shutil.rmtree(temp_dir(Path(job_dir)), ignore_errors=True)


def kill_tree(tree: JobTree, sig: int = signal.SIGKILL) -> list[int]:
    """Signal every process of the job; returns the pids signalled (none: nothing was left)."""
    signalled: list[int] = []
    rounds = _ROUNDS if sig == signal.SIGKILL else 1
    for _ in range(rounds):
        found = members(tree)
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
                signalled.append(pid)
    return signalled


def members(tree: JobTree) -> list[int]:
    """The live processes of the job (this process excluded)."""
    me = os.getpid()
    marker = f"{MARK_VAR}={tree.mark}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        stat = _stat_fields(int(entry.name))
        if stat is None or stat[0] in ("Z", "X"):
            continue
        # fields after the command: state ppid pgrp session ... starttime is the 20th
        in_session = int(stat[3]) == tree.sid and int(stat[19]) >= tree.start_ticks
        if in_session or _has_marker(entry.path, marker):
            found.append(int(entry.name))
    return found


def _has_marker(proc_dir: str, marker: bytes) -> bool:
    try:
        return marker in Path(proc_dir, "environ").read_bytes().split(b"\0")
    except OSError:
        return False


def _stat_fields(pid: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rindex(")") + 2 :].split()


def _start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None else None
