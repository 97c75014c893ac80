"""Shared test fixtures: every test gets its own DSTACK_HOME and HOME in a temp dir, and a
guard fails the test that leaves a process behind.

The guard marks processes through the environment they inherit: this session's
FLEETSTACK_TEST_SESSION (set once, before any test) and the running test's
FLEETSTACK_TEST_ID. After a test's teardown, a live process whose /proc/PID/environ carries
that test's id is a leak: the test errors, naming it, and the guard kills it. Processes of
other programs (other engineers' test runs included) never carry this session's id, so they
cannot be flagged. A process started with a scrubbed environment is not seen.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytest.register_assert_rewrite("tests.helpers")  # its assert_* helpers explain their failures

SESSION_VAR = "FLEETSTACK_TEST_SESSION"
TEST_VAR = "FLEETSTACK_TEST_ID"
SESSION_ID = uuid.uuid4().hex
LEAK_GRACE = 5.0  # seconds a process being killed by its test's teardown may take to vanish
os.environ[SESSION_VAR] = SESSION_ID  # before any test or fixture starts a process
# fleetstack's processes run with umask 077 (engine/paths.py private_process); the test
# process does too, so a $DSTACK_HOME a test prepares is what fleetstack would make (a
# looser one is tightened with a notice; tests/security sets umask 022 where it checks that)
os.umask(0o077)


@dataclass(frozen=True)
class MarkedProcess:
    pid: int
    command: str


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Keep tests hermetic: nothing reads or writes the real ~/.dstack."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DSTACK_HOME", str(home / ".dstack"))
    monkeypatch.delenv("GPUHUNT_CATALOG_DIR", raising=False)
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    return home


@pytest.fixture(autouse=True)
def stop_background_servers(request):
    """A command run by the test may have started a background server (engine/reconciler/
    daemon.py), for the test's DSTACK_HOME or one the test chose: stop it with the test, as
    `dstack server --stop` would (SIGTERM), before the leak guard looks."""
    yield
    marker = f"{TEST_VAR}={request.node.stash[_TEST_ID]}".encode()
    servers = [p for p in marked_processes(marker) if " server --background" in p.command]
    for server in servers:
        with contextlib.suppress(OSError):
            os.kill(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + LEAK_GRACE
    while any(Path(f"/proc/{s.pid}").exists() for s in servers) and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.fixture(scope="session")
def postgres_cluster():
    """One throwaway PostgreSQL cluster for the session (tests/pgserver.py), or a skip."""
    from .helpers import all_tests_required
    from .pgserver import start_cluster

    cluster = start_cluster()
    if cluster is None:
        reason = all_tests_required()
        message = "postgresql is not installed (apt-get install -y postgresql)"
        if reason:
            pytest.fail(f"{message}; {reason} requires every test to run")
        pytest.skip(message)
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, isolated_home, monkeypatch):
    """The state database of the test, on SQLite and on PostgreSQL (a fresh database), also
    given to every process the test starts through DSTACK_DATABASE_URL."""
    if request.param == "sqlite":
        url = f"sqlite:///{isolated_home / '.dstack' / 'state.db'}"
    else:
        url = request.getfixturevalue("postgres_cluster").new_database()
    monkeypatch.setenv("DSTACK_DATABASE_URL", url)
    return url


@pytest.fixture
def log_payload() -> bytes:
    """Output a job log must keep byte for byte: no final newline, a 1 MB line, every byte."""
    return (
        b"no newline at first"
        + b"\n"
        + b"x" * (1024 * 1024)  # one 1 MB line
        + b"\n"
        + bytes(range(256)) * 4  # every byte value, invalid UTF-8 included
        + b"\r\x00tail without newline"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Give each test its own id in the environment its processes inherit."""
    test_id = f"{SESSION_ID}-{uuid.uuid4().hex[:12]}"
    previous = os.environ.get(TEST_VAR)
    os.environ[TEST_VAR] = test_id
    item.stash[_TEST_ID] = test_id
    try:
        return (yield)
    finally:
        if previous is None:
            os.environ.pop(TEST_VAR, None)
        else:
            os.environ[TEST_VAR] = previous


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After every fixture is torn down: fail the test whose processes are still alive."""
    result = yield
    marker = f"{TEST_VAR}={item.stash[_TEST_ID]}".encode()
    leaked = _wait_until_gone(marker, LEAK_GRACE)
    if not leaked:
        return result
    _kill(leaked)
    lines = "\n".join(f"  pid {p.pid}: {p.command}" for p in leaked)
    message = f"the test left {len(leaked)} process(es) running:\n{lines}"
    pytest.fail(message, pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Processes of module or session fixtures (no test id) must be gone by the end too."""
    leaked = _wait_until_gone(f"{SESSION_VAR}={SESSION_ID}".encode(), LEAK_GRACE)
    if not leaked:
        return
    _kill(leaked)
    for p in leaked:
        print(f"\nleaked process of this test session: pid {p.pid}: {p.command}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


_TEST_ID = pytest.StashKey[str]()


def marked_processes(marker: bytes) -> list[MarkedProcess]:
    """Live (non-zombie) processes other than this one whose environment holds `marker`."""
    found = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            environ = Path(entry.path, "environ").read_bytes()
            if marker not in environ.split(b"\0"):
                continue
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours
            continue
        if stat[stat.rindex(")") + 2] in "ZX":
            continue
        command = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
        found.append(MarkedProcess(pid=int(entry.name), command=command))
    return found


def _wait_until_gone(marker: bytes, timeout: float) -> list[MarkedProcess]:
    """The marked processes still alive after up to `timeout` seconds (empty: none left)."""
    deadline = time.monotonic() + timeout
    while True:
        leaked = marked_processes(marker)
        if not leaked or time.monotonic() >= deadline:
            return leaked
        time.sleep(0.05)


def _kill(processes: list[MarkedProcess]) -> None:
    for p in processes:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
