"""One text for what went wrong with a run or job ("exited (3)", "stopped by user"...), used by
`dstack ps -v`, `dstack ps --json` and an attached `dstack apply` alike.

Takes plain values (reason names, not the enums' records) so that `dstack ps`'s fast path,
which reads rows with sqlite3, gives the same text as the lifecycle without SQLAlchemy.
"""

from __future__ import annotations

from pathlib import Path

# The job script's own failures (no container runtime, setup): it says why on stderr.
_SCRIPT_EXIT_CODES = (2, 125)
_SCRIPT_MESSAGE_PREFIX = b"fleetstack: "
_LOG_TAIL_BYTES = 16 * 1024
_FIXED_TEXTS = {
    "max_duration_exceeded": "max duration exceeded",
    "terminated_by_user": "stopped by user",
    "aborted_by_user": "aborted by user",
}


def job_error_text(
    reason: str | None,
    *,
    exit_status: int | None,
    error: str | None,
    log_path: str | None,
    job_dir: str | None,
) -> str:
    """What a job's end says went wrong ("" when it ended well or has not ended).

    "exited (3)", "max duration exceeded", "stopped by user", "supervisor vanished", and for
    the job script's own failures its message: "exited (125): image X needs docker or podman...".
    """
    if reason is None or reason == "done_by_runner":
        return ""
    if reason == "container_exited_with_error":
        if exit_status is None:
            return error or "exited with an error"
        if exit_status > 128 and error and error.startswith("killed by signal"):
            return error
        text = f"exited ({exit_status})"
        if exit_status in _SCRIPT_EXIT_CODES:
            message = _script_message(log_path, job_dir)
            if message:
                text = f"{text}: {message}"
        return text
    if reason in _FIXED_TEXTS:
        return _FIXED_TEXTS[reason]
    if reason == "failed_to_start_due_to_no_capacity":
        return error or "no capacity"
    return error or reason.replace("_", " ")


def _script_message(log_path: str | None, job_dir: str | None) -> str | None:
    """The last "fleetstack: ..." line the job script wrote to the job's log."""
    path = Path(log_path) if log_path else None
    if path is None and job_dir:
        path = Path(job_dir) / "output.log"
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - _LOG_TAIL_BYTES))
            tail = f.read()
    except OSError:
        return None
    for line in reversed(tail.splitlines()):
        if line.startswith(_SCRIPT_MESSAGE_PREFIX):
            return line[len(_SCRIPT_MESSAGE_PREFIX) :].decode("utf-8", "replace").strip()
    return None
