"""What `dstack apply` does after "y": submit the run, then attach to it (or detach).

Attached, the job's output goes to stdout byte for byte as it is written, and the run's
status changes (submitted -> running -> done) go to stderr, so `> out.txt` captures the
job's output alone. The exit code is 0 when the run is done, the task's own exit code when
its commands failed, 1 otherwise. Ctrl-C asks
whether to stop the run; "n" detaches and leaves it running. Killing this process in any
way leaves the run going: the job belongs to its supervisor, not to the CLI.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..engine.models.durations import format_duration
from ..engine.runner.jobfiles import EXIT_STATUS_FILE, PROVISION_LOG
from ..engine.services.runs import AttachedRun, PortForward
from ..engine.state import JobRecord, RunRecord
from .server import need_server
from .views.output import print_error, status_console

if TYPE_CHECKING:
    from rich.console import Console

POLL_SECONDS = 0.05  # how often the job's log is read
REFRESH_SECONDS = 0.5  # how often run statuses are refreshed from the DB
_BEFORE_RUNNING = (None, "submitted", "provisioning", "pending")
_STYLES = {"done": "green", "failed": "red", "terminated": "yellow", "pending": "yellow"}


def submit_and_attach(
    run: RunRecord, *, detach: bool, console: Console, forwards: Sequence[PortForward] = ()
) -> int:
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
    return attach(run, console, forwards)


def attach(
    run: RunRecord, console: Console, forwards: Sequence[PortForward] = (), *, offset: int = 0
) -> int:
    """Stream the run's output (from byte `offset` of its log) and status until it finishes,
    its ports forwarded meanwhile; returns the exit code."""
    attached = _Attached(run, status_console(), offset=offset)
    try:
        with attached.attached.ports(list(forwards)) as opened:
            for forward in opened:
                attached.status.print(f"Forwarding {forward.describe()}", highlight=False)
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
    def __init__(self, run: RunRecord, status: Console, *, offset: int = 0) -> None:
        self.attached = AttachedRun(run)
        self.run = run
        self.status = status
        self.out = sys.stdout.buffer
        self.shown: str | None = None
        self.job_id: str | None = None
        self.ended_job: str | None = None
        self.log_path: str | None = None
        self.offset = 0
        self.first_offset = offset  # where the first job's output is shown from
        self.nodes: dict[int, NodeLog] = {}  # the jobs of a multi-node run, by node
        self.at_line_start = True
        self.latest: list[JobRecord] = []  # the run's latest jobs, one per node
        self.provision_offsets: dict[str, int] = {}  # how much of each provision.log is shown

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
                self._show_provisioning()
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
        """Follow the run's latest job submission (a retry starts a new one); every node's
        job of a multi-node run, each line prefixed with its node."""
        jobs = self.attached.latest_jobs()
        self.latest = jobs
        if len(jobs) > 1:
            for node in jobs:
                self.nodes.setdefault(node.job_num, NodeLog(node.log_path))
        job = jobs[0] if jobs else None
        if job is None:
            return
        if job.id != self.job_id:
            if self.job_id is not None:
                self._read_new_bytes()  # the rest of the previous submission's output
                self._newline()
                self.status.print(
                    f"[bold]{self.run.name}[/bold] resubmitted (attempt {job.submission_num + 1})"
                )
            first = self.job_id is None
            self.job_id, self.log_path = job.id, job.log_path
            self.offset = self.first_offset if first else 0

    def _show_provisioning(self) -> None:
        """The lines the server writes while it brings the run's fleet up: each node's job
        has its provision.log."""
        from rich.markup import escape

        for job in self.latest:
            if not job.log_path:
                continue
            path = os.path.join(os.path.dirname(job.log_path), PROVISION_LOG)
            offset = self.provision_offsets.get(path, 0)
            try:
                with open(path, "rb") as f:
                    f.seek(offset)
                    data = f.read()
            except FileNotFoundError:
                continue
            whole = data[: data.rfind(b"\n") + 1]
            self.provision_offsets[path] = offset + len(whole)
            if whole and self.shown in (None, "submitted"):
                self._print_status(self.run, "provisioning")  # the server is at it
            for line in whole.decode(errors="replace").splitlines():
                self._newline()
                self.status.print(f"[dim]{escape(line)}[/dim]", highlight=False)

    def _read_new_bytes(self) -> None:
        if self.nodes:
            self._read_node_lines()
            return
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

    def _read_node_lines(self, *, final: bool = False) -> None:
        for num, node in sorted(self.nodes.items()):
            lines = node.read_lines(final=final or self.run.status.is_finished)
            if lines and self.shown in _BEFORE_RUNNING:
                self._print_status(self.run, "running")
            for line in lines:
                self.out.write(b"[node %d] " % num + line)
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
        # the task's own exit code when its commands failed (the first failed node's; not a
        # node stopped because another failed, nor a stop or max_duration)
        codes = [
            j.exit_status
            for j in self.attached.latest_jobs()
            if run.status.value == "failed" and j.status.value == "failed" and j.exit_status
        ]
        return codes[0] if codes and 0 < codes[0] < 256 else 1

    def _newline(self) -> None:
        # Keep a status line off the end of a job line that has no newline yet.
        if not self.at_line_start and self.out.isatty():
            self.out.write(b"\n")
            self.out.flush()
        self.at_line_start = True


class NodeLog:
    """One node's log in a multi-node run: whole lines only (a last partial line at the end)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.offset = 0
        self.partial = b""

    def read_lines(self, *, final: bool) -> list[bytes]:
        if not self.path:
            return []
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b"\n")
        whole = [line + b"\n" for line in lines]
        if final and self.partial:
            whole.append(self.partial + b"\n")
            self.partial = b""
        return whole
