"""Helpers test modules share (conftest.py holds fixtures; this holds plain functions).

Import it relatively, as tests/runs imports its conftest: `from ..helpers import wait_for`.
With --import-mode=importlib pytest names test modules after their path from the rootdir
(`tests.runs.test_submit`); `tests/` itself is on no sys.path entry (and gpuhunt installs a
`tests` package of its own into site-packages).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from fleetstack.engine.models.statuses import RunStatus, RunTerminationReason
    from fleetstack.engine.state import RunRecord

WAIT = 60.0  # generous upper bound for a slow machine; never a timing assertion
T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    what: str | None = None,
    *,
    timeout: float = WAIT,
    interval: float = 0.1,
    process: subprocess.Popen[Any] | None = None,
) -> T:
    """Poll until predicate() is truthy and return its value.

    Fails the test, naming `what` (or the predicate), after `timeout` seconds, or as soon as
    `process`, one that should still be running while we wait, has ended.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            pytest.fail(
                f"{process.args} ended with {process.returncode} before {what or predicate}"
            )
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


def assert_run_ended(
    run: RunRecord, status: RunStatus, reason: RunTerminationReason, error: str
) -> None:
    """Assert the run's final status and termination reason (the very members) and its error."""
    assert run.status is status
    assert run.termination_reason is reason
    assert run.error == error


def signal_and_collect(
    process: subprocess.Popen[bytes], sig: int, timeout: float
) -> tuple[bytes, bytes]:
    """Send `sig` to `process` and read the rest of its output; killed if it outlives `timeout`."""
    try:
        process.send_signal(sig)
        return process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def is_running(pid: int) -> bool:
    """True while pid exists and is not a zombie (a reaped-late orphan counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def quoting_hazards(marker: Path) -> dict[str, str]:
    """Values that break naive shell or YAML quoting; running any of them touches `marker`."""
    return {
        "SINGLE_QUOTE": "it's 'quoted'",
        "DOUBLE_QUOTE": 'say "hi" \\"',
        "SUBSTITUTION": f"$(touch {marker})",
        "BACKTICKS": f"`touch {marker}`",
        "NEWLINES": "line one\nline two\n\n",
        "EMPTY": "",
        "LONG": "x" * 100_000 + "'\"$`\\",
    }


def hostile_env(marker: Path) -> dict[str, str]:
    """quoting_hazards plus values that break YAML, options, line ends and encodings."""
    return {
        **quoting_hazards(marker),
        "LEADING_NEWLINE": "\nstarts with a newline",
        "EQUALS": "a=b=c",
        "OPTION": "--privileged",
        "YAML": ": # - { } [ ] ' \" \n key: value",
        "YAML_DOCUMENT": "key: value\n- item\n--- \n... \n{a: [b]} &anchor *alias "
        "!!python/object ? | > # %",
        "YAML_BOOL": "yes",
        "YAML_NULL": "~",
        "UNICODE": "héllo ✓ 日本語 🚀 \u2028\u2029 \ufeff",
        "CONTROL": "tab\tbell\x07esc\x1b[31m",
        "CARRIAGE_RETURN": "a\r\nb\r",
    }


def all_tests_required() -> str | None:
    """The setting that forbids skipping a test for a missing tool, or None."""
    if os.environ.get("FLEETSTACK_REQUIRE_ALL_TESTS", "").strip() not in ("", "0"):
        return "FLEETSTACK_REQUIRE_ALL_TESTS=1"
    if os.environ.get("CI", "").strip().lower() == "true":
        return "CI=true"
    return None


def run_on_terminal(argv: list[str], *, columns: int, env: dict[str, str] | None = None) -> str:
    """Run `argv` with stdout and stderr on a pseudo-terminal `columns` wide (COLUMNS too);
    its output with the ANSI codes taken out. Fails if it does not end within WAIT."""
    import fcntl
    import pty
    import re
    import struct
    import subprocess
    import termios

    main, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary,
        env={**(env or os.environ), "COLUMNS": str(columns)},
    )  # fmt: skip
    os.close(secondary)
    out = b""
    try:
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the program ended and closed the terminal
                break
            if not chunk:
                break
            out += chunk
        proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.decode(errors="replace"))
    return text.replace("\r\n", "\n")


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A real moto_server (EC2 and the rest of AWS's APIs) on a free port: its endpoint URL."""
    import socket

    port = free_port()
    server = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answers() -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        except OSError:
            return False
        return True

    try:
        wait_for(answers, what="moto_server to listen", process=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
