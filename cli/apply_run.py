"""What `dstack apply` does after "y": submit the run, then attach to it (or detach).

Attached, the job's output goes to stdout byte for byte as it is written, and the run's
status changes (submitted -> running -> done) go to stderr, so `> out.txt` captures the
job's output alone. The exit code is 0 when the run is done, 1 otherwise. Ctrl-C asks
whether to stop the run; "n" detaches and leaves it running. Killing this process in any
way leaves the run going: the job belongs to its supervisor, not to the CLI.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING

from ..engine.models.durations import format_duration
from ..engine.runner.jobfiles import EXIT_STATUS_FILE
from ..engine.services.runs import AttachedRun
from ..engine.state import RunRecord
from .server import need_server
from .views.output import print_error, status_console

if TYPE_CHECKING:
    from rich.console import Console

POLL_SECONDS = 0.05  # how often the job's log is read
REFRESH_SECONDS = 0.5  # how often run statuses are refreshed from the DB
_BEFORE_RUNNING = (None, "submitted", "provisioning", "pending")
_STYLES = {"done": "green", "failed": "red", "terminated": "yellow", "pending": "yellow"}


def submit_and_attach(run: RunRecord, *, detach: bool, console: Console) -> int:
    """For a run just submitted: with `detach` say how to follow it and return 0, else attach.
    Either way the server (which starts the run's job) is woken, or started."""
    need_server()
    if detach:
        console.print(f"Run [bold]{run.name}[/bold] submitted and detached.")
        console.print(
            f"Follow its output with `dstack logs {run.name} -f`; `dstack ps` shows its status; "
            f"`dstack stop {run.name}` stops it."
        )
        return 0
    return attach(run, console)


def attach(run: RunRecord, console: Console) -> int:
    """Stream the run's output and status until it finishes; returns the exit code."""
    attached = _Attached(run, status_console())
    try:
        return attached.follow()
    except KeyboardInterrupt:
        return attached.interrupted(console)
    except BrokenPipeError:
        # The reader of our output went away (`| head`): detach quietly, the run goes on.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 1


class _Attached:
    def __init__(self, run: RunRecord, status: Console) -> None:
        self.attached = AttachedRun(run)
        self.run = run
        self.status = status
        self.out = sys.stdout.buffer
        self.shown: str | None = None
        self.job_id: str | None = None
        self.ended_job: str | None = None
        self.log_path: str | None = None
        self.offset = 0
        self.at_line_start = True

    def follow(self) -> int:
        next_refresh = 0.0
        if self.shown is None:
            # The status it was submitted with, whatever the first look finds: a job that
            # starts within the first poll still reads "submitted", then "running".
            self._print_status(self.run, self.run.status.value)
        while True:
            now = time.monotonic()
            if now >= next_refresh or self._job_just_ended():
                self.run = self.attached.refresh()
                self._switch_job()
                self._read_new_bytes()
                self._show_status(self.run)
                if self.run.status.is_finished:
                    self._read_new_bytes()  # its last bytes are on disk before its final status
                    return self._finish(self.run)
                next_refresh = now + REFRESH_SECONDS
            else:
                self._read_new_bytes()  # the log is read more often than the DB: output is live
            time.sleep(POLL_SECONDS)

    def interrupted(self, console: Console) -> int:
        name = self.run.name
        self._newline()
        if sys.stdin.isatty():
            try:
                # "\\[" keeps rich from reading [y/n] as markup
                answer = console.input(f"Stop the run [bold]{name}[/bold]? \\[y/n]: ")
                stop = answer.strip().lower() in ("y", "yes")
            except (KeyboardInterrupt, EOFError):
                stop = True  # a second Ctrl-C insists
        else:
            stop = True  # nobody to ask: do not leave a run behind unasked
        if not stop:
            console.print(
                f"Detached: the run goes on. `dstack logs {name} -f` follows it, "
                f"`dstack stop {name}` stops it."
            )
            return 0
        self.status.print(f"Stopping [bold]{name}[/bold]... (Ctrl-C again kills it at once)")
        try:
            run = self.attached.stop(abort=False)
        except KeyboardInterrupt:
            run = self.attached.stop(abort=True)
        self._pump_log()
        self._show_status(run)
        return 1 if run.status.value != "done" else 0

    # ------------------------------------------------------------------ helpers

    def _pump_log(self) -> None:
        self._switch_job()
        self._read_new_bytes()

    def _job_just_ended(self) -> bool:
        """True once per job, when its supervisor has recorded its end: refresh at once."""
        if not self.log_path or self.ended_job == self.job_id:
            return False
        if not os.path.exists(os.path.join(os.path.dirname(self.log_path), EXIT_STATUS_FILE)):
            return False
        self.ended_job = self.job_id
        return True

    def _switch_job(self) -> None:
        """Follow the run's latest job submission (a retry starts a new one)."""
        job = self.attached.latest_job()
        if job is None:
            return
        if job.id != self.job_id:
            if self.job_id is not None:
                self._read_new_bytes()  # the rest of the previous submission's output
                self._newline()
                self.status.print(
                    f"[bold]{self.run.name}[/bold] resubmitted (attempt {job.submission_num + 1})"
                )
            self.job_id, self.log_path, self.offset = job.id, job.log_path, 0

    def _read_new_bytes(self) -> None:
        if not self.log_path:
            return
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.offset)
                while chunk := f.read(1 << 16):
                    if self.shown in _BEFORE_RUNNING:
                        self._print_status(self.run, "running")  # it prints: it runs
                    self.offset += len(chunk)
                    self.out.write(chunk)
                    self.at_line_start = chunk.endswith(b"\n")
        except FileNotFoundError:
            return
        self.out.flush()

    def _show_status(self, run: RunRecord) -> None:
        value = run.status.value
        if value == self.shown or (
            self.shown == "running" and value in ("submitted", "provisioning")
        ):
            return  # the output said "running" before the DB did
        early = self.shown in _BEFORE_RUNNING
        if run.status.is_finished and early and self._job_started():
            self._print_status(run, "running")  # it ran between two looks: say so
        self._print_status(run, value)

    def _print_status(self, run: RunRecord, value: str) -> None:
        self.shown = value
        self._newline()
        style = _STYLES.get(value, "cyan")
        detail = ""
        if value == "pending" and run.termination_reason is None:
            detail = f" ({run.error}; {self._retry_in()})" if run.error else " (will retry)"
        self.status.print(f"[bold]{run.name}[/bold] [{style}]{value}[/{style}]{detail}")

    def _retry_in(self) -> str:
        job = self.attached.job(self.job_id) if self.job_id else None
        attempt = job.submission_num + 1 if job is not None else 1
        delay = self.attached.retry_delay(attempt)
        return f"retrying in {format_duration(int(delay.total_seconds()))}"

    def _job_started(self) -> bool:
        job = self.attached.job(self.job_id) if self.job_id else None
        return job is not None and job.started_at is not None

    def _finish(self, run: RunRecord) -> int:
        if run.status.value == "done":
            return 0
        error = run.error or (run.termination_reason.value if run.termination_reason else "")
        print_error(f"run {run.name} {run.status.value}" + (f": {error}" if error else ""))
        return 1

    def _newline(self) -> None:
        # Keep a status line off the end of a job line that has no newline yet.
        if not self.at_line_start and self.out.isatty():
            self.out.write(b"\n")
            self.out.flush()
        self.at_line_start = True
