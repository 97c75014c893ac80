"""Real OpenSSH daemons for the remote-execution tests.

`sshd()` starts `/usr/sbin/sshd -D` on a free port of 127.0.0.1 with its own host key,
config and authorized_keys (the project key's) in a temp folder, and a HOME of its own for
the sessions (`SetEnv HOME=...`), so remote job folders land in the test's tmp. Every daemon
is stopped at teardown. Without sshd the tests skip (fail under FLEETSTACK_REQUIRE_ALL_TESTS).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fleetstack.engine.runner.keys import project_key

from ..helpers import all_tests_required, wait_for

SSHD = Path("/usr/sbin/sshd")


@dataclass
class Daemon:
    port: int
    dir: Path
    home: Path  # HOME of the sessions it opens
    process: subprocess.Popen[bytes]
    address: str = "127.0.0.1"

    @property
    def host_key(self) -> Path:
        return self.dir / "host_key"

    def session_pids(self) -> list[int]:
        """Pids of the per-connection sshd processes (children of the daemon)."""
        found = []
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[1] == str(self.process.pid):
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            for pid in self.session_pids():
                _kill(pid)
            self.process.terminate()
            self.process.wait(10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_daemon(
    folder: Path, *, address: str = "127.0.0.1", port: int | None = None, netns: str | None = None
) -> Daemon:
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    home.mkdir(exist_ok=True)
    key = folder / "host_key"
    if not key.exists():
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    public = project_key(Path(os.environ["DSTACK_HOME"])).public_key
    (folder / "authorized_keys").write_text(public + "\n")
    port = port or free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress {address}\nHostKey {key}\nPidFile {folder}/sshd.pid\n"
        f"AuthorizedKeysFile {folder}/authorized_keys\nStrictModes no\nUsePAM no\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nAllowTcpForwarding yes\n"
        f"Subsystem sftp internal-sftp\nSetEnv HOME={home}\nLogLevel ERROR\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)
    prefix = ["ip", "netns", "exec", netns] if netns else []
    process = subprocess.Popen(
        [*prefix, str(SSHD), "-D", "-e", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "sshd.log", "ab"),  # noqa: SIM115 - the daemon holds it
    )
    daemon = Daemon(port=port, dir=folder, home=home, process=process, address=address)
    wait_for(lambda: _answers(daemon, netns), f"sshd on {address}:{port}", process=process)
    return daemon


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Callable[..., Daemon]]:
    """sshd(name="host") -> a running Daemon on 127.0.0.1, stopped after the test."""
    if not SSHD.exists() or os.geteuid() != 0:
        reason = "needs /usr/sbin/sshd and root: apt-get install -y openssh-server"
        required = all_tests_required()
        if required:
            pytest.fail(f"{reason} ({required} requires every test to run)")
        pytest.skip(reason)
    daemons: list[Daemon] = []

    def start(name: str = "host", **options: object) -> Daemon:
        daemon = start_daemon(tmp_path / f"sshd-{name}", **options)  # type: ignore[arg-type]
        daemons.append(daemon)
        return daemon

    yield start
    for daemon in daemons:
        daemon.stop()


def _answers(daemon: Daemon, netns: str | None) -> bool:
    if netns:
        probe = subprocess.run(
            ["ip", "netns", "exec", netns, "bash", "-c", f"exec 3<>/dev/tcp/{daemon.address}/"
             f"{daemon.port}"], capture_output=True,
        )  # fmt: skip
        return probe.returncode == 0
    try:
        with socket.create_connection((daemon.address, daemon.port), timeout=1):
            return True
    except OSError:
        return False


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


@dataclass
class Namespaces:
    """A bridge on this machine (10.213.N.1/24) and network namespaces on it."""

    prefix: str
    subnet: str
    names: list[str]

    def host_address(self, index: int) -> str:
        return f"{self.subnet}.{10 + index}"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def netns(sshd) -> Iterator[Callable[[int], Namespaces]]:
    """netns(2) -> two namespaces, each with eth0 at 10.213.N.1x on a private bridge."""
    made: list[Namespaces] = []

    def create(count: int) -> Namespaces:
        tag = uuid.uuid4().hex[:6]
        subnet = f"10.213.{int(tag[:2], 16)}"
        spaces = Namespaces(prefix=f"fs13{tag}", subnet=subnet, names=[])
        made.append(spaces)
        bridge = f"{spaces.prefix}b"
        _ip("link", "add", bridge, "type", "bridge")
        _ip("addr", "add", f"{subnet}.1/24", "dev", bridge)
        _ip("link", "set", bridge, "up")
        for index in range(count):
            name, veth = f"{spaces.prefix}n{index}", f"{spaces.prefix}v{index}"
            _ip("netns", "add", name)
            spaces.names.append(name)
            _ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", name)
            _ip("link", "set", veth, "master", bridge, "up")
            _ip("-n", name, "addr", "add", f"{spaces.host_address(index)}/24", "dev", "eth0")
            _ip("-n", name, "link", "set", "eth0", "up")
            _ip("-n", name, "link", "set", "lo", "up")
        return spaces

    yield create
    for spaces in made:
        for name in spaces.names:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        subprocess.run(["ip", "link", "del", f"{spaces.prefix}b"], capture_output=True)
