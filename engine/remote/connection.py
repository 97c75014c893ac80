"""One SSH connection to a host, used from synchronous code.

    with Connection(SSHTarget("10.0.0.5", user="ubuntu")) as conn:
        result = conn.run("uname -m")                 # CommandResult(returncode, stdout, stderr)
        conn.run("tar -x -C /tmp/x", stdin=archive)   # bytes fed to the command's stdin
        conn.forward_port(8000, 6000)                 # 127.0.0.1:8000 here -> 127.0.0.1:6000 there

asyncssh is the SSH library (loaded here only, when a connection is made). Its event loop
runs in a helper thread that `close()` stops and closes. Host keys are recorded at first
contact in $DSTACK_HOME/ssh/known_hosts; a host whose key changed later is refused with a
message naming it. The key is the host's identity_file, else the project key.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..errors import FleetstackError
from ..paths import dstack_home
from ..runner.keys import project_key

if TYPE_CHECKING:
    import asyncssh

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 10.0
KEEPALIVE_SECONDS = 5.0  # a dead peer is noticed after 3 unanswered keepalives


class SSHError(FleetstackError):
    """A host could not be reached or refused us; the message names the host."""


@dataclass(frozen=True)
class SSHTarget:
    """How to reach one host: address, port, user, key, and an optional jump host."""

    hostname: str
    port: int = 22
    user: str = "root"
    identity_file: str | None = None
    proxy_jump: SSHTarget | None = None

    @property
    def name(self) -> str:
        """user@host:port, as messages name the host."""
        return f"{self.user}@{self.hostname}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """The host as OpenSSH's known_hosts writes it."""
        return self.hostname if self.port == 22 else f"[{self.hostname}]:{self.port}"


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: bytes
    stderr: bytes

    def text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")


def known_hosts_path() -> Path:
    """Where host keys are recorded at first contact."""
    return dstack_home() / "ssh" / "known_hosts"


class Connection:
    """A live SSH connection (through its proxy_jump, if any) with synchronous methods."""

    def __init__(self, target: SSHTarget, *, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
        self.target = target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._conns: list[asyncssh.SSHClientConnection] = []
        self._listeners: list[asyncssh.SSHListener] = []
        try:
            self._call(self._connect_chain(target, timeout), timeout=timeout * 3)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def is_closed(self) -> bool:
        return self._loop.is_closed()

    def run(
        self, command: str, *, stdin: bytes | None = None, timeout: float | None = 60.0
    ) -> CommandResult:
        """Run `command` with the login shell; SSHError when the connection fails."""
        return self._call(self._run(command, stdin), timeout=timeout)

    def forward_port(
        self, local_port: int, remote_port: int, remote_host: str = "127.0.0.1"
    ) -> int:
        """Listen on 127.0.0.1:local_port here and carry each connection to remote_host:remote_port
        there, until close(). Returns the local port (chosen when 0); SSHError when it is in use."""
        return self._call(self._forward(local_port, remote_host, remote_port), timeout=30.0)

    def close(self) -> None:
        """Close the connection and the helper thread's loop (safe to call twice)."""
        if self._loop.is_closed():
            return
        if self._conns and self._thread.is_alive():
            # closing a broken connection must not fail
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._close_all(), self._loop).result(10.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10.0)
        self._loop.close()

    # ---------------------------------------------------------------- in the loop's thread

    def _call(self, coro: Coroutine[object, object, T], *, timeout: float | None) -> T:
        if self._loop.is_closed():
            coro.close()
            raise SSHError(f"{self.target.name}: the connection is closed")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise SSHError(f"{self.target.name}: no answer within {timeout:.0f} s") from None

    async def _connect_chain(self, target: SSHTarget, timeout: float) -> None:
        tunnel = None
        if target.proxy_jump is not None:
            await self._connect_chain(target.proxy_jump, timeout)
            tunnel = self._conns[-1]
        self._conns.append(await _connect(target, tunnel, timeout))

    async def _run(self, command: str, stdin: bytes | None) -> CommandResult:
        import asyncssh

        try:
            result = await self._conns[-1].run(command, input=stdin, encoding=None, check=False)
        except (OSError, asyncssh.Error) as e:
            raise SSHError(f"{self.target.name}: {_describe(e)}") from None
        out, err = result.stdout, result.stderr
        return CommandResult(
            returncode=result.exit_status if result.exit_status is not None else 255,
            stdout=out if isinstance(out, bytes) else b"",
            stderr=err if isinstance(err, bytes) else b"",
        )

    async def _forward(self, local_port: int, remote_host: str, remote_port: int) -> int:
        import asyncssh

        try:
            listener = await self._conns[-1].forward_local_port(
                "127.0.0.1", local_port, remote_host, remote_port
            )
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise SSHError(
                    f"local port {local_port} is in use: free it, or map the port elsewhere "
                    f"with -p/--port LOCAL:{remote_port}"
                ) from None
            raise SSHError(f"127.0.0.1:{local_port}: {e.strerror or e}") from None
        except asyncssh.Error as e:
            raise SSHError(f"{self.target.name}: {_describe(e)}") from None
        self._listeners.append(listener)
        return listener.get_port()

    async def _close_all(self) -> None:
        for listener in self._listeners:
            listener.close()
        for conn in reversed(self._conns):
            conn.close()
            await conn.wait_closed()


async def _connect(
    target: SSHTarget, tunnel: asyncssh.SSHClientConnection | None, timeout: float
) -> asyncssh.SSHClientConnection:
    # asyncssh: the one module that loads it (heavy, and not needed by most commands).
    import asyncssh

    key = Path(target.identity_file).expanduser() if target.identity_file else None
    if key is None:
        key = project_key(dstack_home()).private_path
    known = _known_keys(target)
    try:
        conn = await asyncssh.connect(
            target.hostname,
            target.port,
            tunnel=tunnel,
            username=target.user,
            client_keys=[str(key)],
            known_hosts=(known, [], []) if known else None,
            agent_path=None,
            config=None,
            connect_timeout=timeout,
            keepalive_interval=KEEPALIVE_SECONDS,
            keepalive_count_max=3,
        )
    except asyncssh.HostKeyNotVerifiable:
        raise SSHError(
            f"{target.name}: the host key has CHANGED since it was recorded in "
            f"{known_hosts_path()}; if {target.hostname} was reinstalled, delete its line "
            f"({target.known_hosts_name}) there and try again"
        ) from None
    except (OSError, asyncssh.Error) as e:
        raise SSHError(f"{target.name}: {_describe(e)}") from None
    if not known:
        _record_host_key(target, conn)
    return conn


def _known_keys(target: SSHTarget) -> list[asyncssh.SSHKey]:
    import asyncssh

    try:
        lines = known_hosts_path().read_text().splitlines()
    except FileNotFoundError:
        return []
    keys = []
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and target.known_hosts_name in parts[0].split(","):
            keys.append(asyncssh.import_public_key(" ".join(parts[1:3])))
    return keys


def forget_host_key(target: SSHTarget) -> None:
    """Forget the recorded key of the target's address: a machine just created there is
    met for the first time (a cloud reuses addresses of machines that are gone)."""
    path = known_hosts_path()
    try:
        lines = path.read_text().splitlines(keepends=True)
    except FileNotFoundError:
        return
    kept = [
        line
        for line in lines
        if not (line.split() and target.known_hosts_name in line.split()[0].split(","))
    ]
    if len(kept) != len(lines):
        partial = path.with_suffix(".partial")
        partial.write_text("".join(kept))
        partial.replace(path)


def _record_host_key(target: SSHTarget, conn: asyncssh.SSHClientConnection) -> None:
    key = conn.get_server_host_key()
    if key is None:
        return
    path = known_hosts_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    text = key.export_public_key("openssh").decode("ascii").split()
    with open(path, "a") as f:
        f.write(f"{target.known_hosts_name} {text[0]} {text[1]}\n")


def _describe(e: BaseException) -> str:
    """A one-line reason for an SSH failure."""
    if isinstance(e, ConnectionRefusedError):
        return "connection refused (is sshd running on that port?)"
    if isinstance(e, TimeoutError | asyncio.TimeoutError):
        return "connection timed out (host down or unreachable?)"
    if isinstance(e, OSError):
        return e.strerror or str(e) or type(e).__name__
    import asyncssh

    reason = (e.reason if isinstance(e, asyncssh.Error) else "") or str(e)
    if isinstance(e, asyncssh.PermissionDenied):
        return f"authentication failed ({reason}): is the key in the host's authorized_keys?"
    return reason or type(e).__name__
