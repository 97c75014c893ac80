"""Instances that really boot: systemd-nspawn containers of the debootstrap base (tests/vm/base.py)
with systemd as PID 1, whose real cloud-init reads OUR user-data, byte for byte, from a NoCloud
seed, each in its own network namespace on a private bridge.

A bench owns one private /24 (10.213.X.0/24, bridge `fsvmXbr`) for the life of its process,
held by an flock on `<cache>/benches/X.lock`. Everything it creates is named `fsvmX...`
(namespaces `fsvmX-N`, host veths `fsvmXvN`, machines `fsvmX-N`, cgroups, instance
directories `<cache>/instances/fsvmX-N`). A process killed mid-test leaves its lock free:
`sweep_stale()` (run when a bench opens) removes whatever carries the prefix of a bench whose
lock nobody holds. Nothing routes out of the /24: no instance has a default route.

What only the bench needs (cgroup remounts, locale, /etc/hosts) goes into NoCloud
`vendor-data`, never into the user-data under test; the local image for jobs is a unit the
bench writes into the instance's overlay before it boots.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import base, host

PREFIX = "fsvm"
SUBNET_PREFIX = "10.213"  # 10.213.X.0/24 per bench; .1 is the host's bridge address
LOCAL_IMAGE = "fleetstack-test/base:latest"
SSH_USER = "debian"  # Debian's cloud-init default user
_IMAGE_TAR_IN_INSTANCE = "/opt/fleetstack-test/image.tar"
_IMAGE_TAGS_IN_INSTANCE = "/opt/fleetstack-test/tags"
_IMAGE_UNIT = "fleetstack-test-image.service"
_IMAGE_EXCLUDES = ("./var/lib/docker", "./var/cache/apt", "./usr/share/doc", "./usr/share/man")
VENDOR_DATA = """#cloud-config
# fleetstack test bench only: what a container needs that a cloud VM has
bootcmd:
  - [sh, -c, 'for d in /sys/fs/cgroup/*/; do mount -o remount,bind,rw "$d" 2>/dev/null; done; true']
locale: C.UTF-8
manage_etc_hosts: localhost
"""
_IMAGE_UNIT_TEXT = f"""[Unit]
Description=fleetstack test bench: the local image for jobs (no registry is reachable)
Requires=docker.service
After=docker.service
Before=fleetstack-job.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'docker image inspect {LOCAL_IMAGE} >/dev/null 2>&1 || \
docker import {_IMAGE_TAR_IN_INSTANCE} {LOCAL_IMAGE}'
ExecStart=/bin/sh -c 'while read -r tag; do docker tag {LOCAL_IMAGE} "$tag"; done \
< {_IMAGE_TAGS_IN_INSTANCE}'

[Install]
WantedBy=multi-user.target
"""


class HarnessError(host.HostError):
    """The bench could not do what a test asked (boot, wait, read)."""


def missing_pieces() -> str | None:
    """Why instances cannot boot here, as the one command that fixes it, or None."""
    if os.geteuid() != 0:
        return "the VM harness needs root (namespaces, mounts, systemd-nspawn): run as root"
    steps = []
    missing = base.missing_host_tools()
    if missing:
        steps.append(f"apt-get install -y {' '.join(missing)}")
    if not base.base_path().is_dir():
        steps.append(f"python3 {Path(base.__file__)}")  # about 3 min, once
    if not steps:
        return None
    return f"the VM harness is not ready here: run `{' && '.join(steps)}`"


@dataclass
class Instance:
    """One booted instance; `root` is its overlay as the host sees it."""

    bench: Bench
    name: str
    ip: str
    root: Path
    process: subprocess.Popen[bytes]
    _dir: Path
    _stopped: bool = False

    def wait_boot_finished(self, timeout: float = 120.0) -> float:
        """Seconds until cloud-init wrote boot-finished (HarnessError with the log on timeout)."""
        started = time.monotonic()
        self.wait_for(
            lambda: any((self.root / "var/lib/cloud/instances").glob("*/boot-finished")),
            timeout,
            "cloud-init's boot-finished",
        )
        return time.monotonic() - started

    def wait_file(self, path: str, timeout: float = 120.0) -> bytes:
        """The content of `path` inside the instance once it exists and is not empty."""
        target = self.root / path.lstrip("/")
        self.wait_for(lambda: target.is_file() and target.stat().st_size > 0, timeout, path)
        return target.read_bytes()

    def wait_for(self, condition: object, timeout: float, what: str) -> None:
        assert callable(condition)
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise HarnessError(f"{self.name} exited ({self.process.returncode}) {self.tail()}")
            if time.monotonic() > deadline:
                raise HarnessError(f"{self.name}: no {what} after {timeout:.0f} s {self.tail()}")
            time.sleep(0.1)

    def read(self, path: str) -> bytes:
        """A file inside the instance, read through its overlay."""
        return (self.root / path.lstrip("/")).read_bytes()

    def exists(self, path: str) -> bool:
        return (self.root / path.lstrip("/")).exists()

    def run(self, argv: Sequence[str], timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """`argv` run inside the instance (all its namespaces), output captured as text."""
        leader = self.leader_pid()
        return subprocess.run(
            ["nsenter", "-t", str(leader), "-a", "--", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"},
        )

    def sh(self, script: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return self.run(["sh", "-c", script], timeout=timeout)

    def cloud_init_status(self) -> str:
        """`cloud-init status --long`, as cloud-init itself reports it."""
        return self.run(["cloud-init", "status", "--long"]).stdout

    def journal(self, unit: str | None = None) -> str:
        argv = ["journalctl", "--no-pager", "-o", "short-monotonic"]
        return self.run([*argv, "-u", unit] if unit else [*argv, "-b"]).stdout

    def leader_pid(self) -> int:
        """The instance's PID 1 (systemd) as the host sees it."""
        for pid in host.descendants(self.process.pid):
            if Path(f"/proc/{pid}/comm").read_text().strip() == "systemd":
                return pid
        raise HarnessError(f"{self.name}: its systemd is not running {self.tail()}")

    def tail(self) -> str:
        """The end of cloud-init's output, to explain a failure."""
        log = self.root / "var/log/cloud-init-output.log"
        text = log.read_text(errors="replace") if log.is_file() else "(no cloud-init output)"
        return "\n--- cloud-init-output.log (tail) ---\n" + "\n".join(text.splitlines()[-30:])

    def stop(self) -> None:
        """Halt the instance and remove its overlay, namespace, veth, cgroups and files."""
        if self._stopped:
            return
        self._stopped = True
        self.bench.instances.remove(self)
        _halt(self.process)
        _remove_instance(self.name, self._dir)


@dataclass
class Bench:
    """A private /24 with its bridge, and the instances booted on it."""

    index: int
    lock_fd: int  # -1: joined (another process owns the /24, its lock and its cleanup)
    env: Mapping[str, str] | None = None  # the nspawn processes' environment (None: ours)
    instances: list[Instance] = field(default_factory=list)
    _next_host: int = 10
    _closed: bool = False

    @property
    def bridge(self) -> str:
        return f"{PREFIX}{self.index}br"

    @property
    def gateway(self) -> str:
        return f"{SUBNET_PREFIX}.{self.index}.1"

    def boot(
        self,
        user_data: str | bytes,
        *,
        image_tags: Sequence[str] = (),
        wait: bool = True,
    ) -> Instance:
        """Boot one instance whose NoCloud user-data is exactly `user_data`.

        image_tags: more names for the local image (e.g. the default image of a task without
        `image:`), so that its docker daemon has them with no registry.
        """
        if self._next_host > 250:
            raise HarnessError("this bench has no address left in its /24")
        number = self._next_host
        # processes that joined this bench boot on it too: an existing directory is theirs
        while (instances_dir() / f"{PREFIX}{self.index}-{number}").exists():
            number += 1
        self._next_host = number + 1
        name = f"{PREFIX}{self.index}-{number}"
        ip = f"{SUBNET_PREFIX}.{self.index}.{number}"
        directory = instances_dir() / name
        _remove_instance(name, directory)  # a leftover of a crashed run of this bench
        try:
            root = _prepare_root(directory, name, user_data, image_tags)
            host.plug(self.bridge, name, f"{PREFIX}{self.index}v{number}", ip)
            process = _start(name, directory, root, self.env)
        except BaseException:
            _remove_instance(name, directory)
            raise
        instance = Instance(self, name, ip, root, process, directory)
        self.instances.append(instance)
        if wait:
            instance.wait_boot_finished()
        return instance

    def close(self) -> None:
        """Stop every instance, remove the bridge, give the /24 back."""
        if self._closed:
            return
        self._closed = True
        for instance in list(self.instances):
            instance.stop()
        if self.lock_fd < 0:
            return  # joined: the owner removes the bridge and what joined processes left
        _sweep_bench(self.index)  # instances that processes which joined it booted
        host.quiet("ip", "link", "del", self.bridge)
        os.close(self.lock_fd)


def open_bench(env: Mapping[str, str] | None = None) -> Bench:
    """A bench on the first free /24 (stale leftovers of dead benches swept first)."""
    reason = missing_pieces()
    if reason:
        raise HarnessError(reason)
    sweep_stale()
    benches = base.cache_dir() / "benches"
    benches.mkdir(parents=True, exist_ok=True)
    for index in range(1, 255):
        fd = os.open(benches / f"{index}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        bench = Bench(index, fd, env)
        host.quiet("ip", "link", "del", bench.bridge)
        host.run_ip("link", "add", bench.bridge, "type", "bridge")
        host.run_ip("addr", "add", f"{bench.gateway}/24", "dev", bench.bridge)
        host.run_ip("link", "set", bench.bridge, "up")
        atexit.register(bench.close)  # an interrupted session still cleans up
        return bench
    raise HarnessError("every test bench /24 is in use")


def join_bench(index: int, env: Mapping[str, str] | None = None) -> Bench:
    """The bench `index` that another process (a test session) opened and owns: instances
    booted here outlive this process, and are stopped by `stop_machine` or the owner's close."""
    if not (base.cache_dir() / "benches" / f"{index}.lock").is_file():
        raise HarnessError(f"no test bench {index} on this machine (open_bench makes one)")
    return Bench(index, -1, env)


def stop_machine(name: str) -> None:
    """Halt the instance `name` (SIGTERM to its nspawn: systemd shuts down) and remove it,
    from any process; already gone is fine."""
    _remove_instance(name, instances_dir() / name)


def machine_running(name: str) -> bool:
    """Whether the instance `name` has a running nspawn process."""
    return bool(host.nspawn_pids(name))


def sweep_stale() -> list[str]:
    """Remove everything named after a bench whose lock no live process holds; what went."""
    benches = base.cache_dir() / "benches"
    removed: list[str] = []
    if not benches.is_dir():
        return removed
    for lock in sorted(benches.glob("*.lock")):
        fd = os.open(lock, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live bench
        else:
            removed += _sweep_bench(int(lock.stem))
        finally:
            os.close(fd)
    return removed


def leftovers(prefix: str = PREFIX) -> list[str]:
    """What of ours exists on this machine now: namespaces, links, mounts, nspawn processes."""
    found = [f"netns {n}" for n in host.netns_names() if n.startswith(prefix)]
    found += [f"link {n}" for n in host.link_names() if n.startswith(prefix)]
    found += [f"mount {m}" for m in host.mounts_under(instances_dir()) if f"/{prefix}" in m]
    found += [f"process {pid}" for pid in host.nspawn_pids(prefix)]
    return found


def instances_dir() -> Path:
    return base.cache_dir() / "instances"


def image_tar() -> Path:
    """The local image's filesystem (the base without docker's data), built once per base."""
    target = base.base_path().with_name(base.base_path().name + ".image.tar")
    if target.is_file():
        return target
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.partial")
    excludes = [f"--exclude={path}" for path in _IMAGE_EXCLUDES]
    subprocess.run(
        ["tar", "-C", str(base.base_path()), *excludes, "-cf", str(partial), "."], check=True
    )
    partial.rename(target)
    return target


def _prepare_root(directory: Path, name: str, user_data: str | bytes, tags: Sequence[str]) -> Path:
    # A machine's files have an image's modes, not fleetstack's private ones: the test
    # process runs with umask 077 (tests/conftest.py), under which the overlay's root and
    # the seed would be owner-only and the instance's unprivileged services would fail.
    old = os.umask(0o022)
    try:
        return _prepare_root_files(directory, name, user_data, tags)
    finally:
        os.umask(old)


def _prepare_root_files(
    directory: Path, name: str, user_data: str | bytes, tags: Sequence[str]
) -> Path:
    for part in ("upper", "work", "root", "docker"):
        (directory / part).mkdir(parents=True)
    root = directory / "root"
    options = (
        f"lowerdir={base.base_path()},upperdir={directory / 'upper'},workdir={directory / 'work'}"
    )
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)], check=True)
    seed = root / "var/lib/cloud/seed/nocloud"
    seed.mkdir(parents=True)
    data = user_data.encode() if isinstance(user_data, str) else user_data
    (seed / "user-data").write_bytes(data)  # ours, byte for byte
    (seed / "meta-data").write_text(
        f"instance-id: {name}-{uuid.uuid4().hex[:8]}\nlocal-hostname: {name}\n"
    )
    (seed / "vendor-data").write_text(VENDOR_DATA)
    (root / "etc/hostname").write_text(f"{name}\n")
    bench_dir = root / "opt/fleetstack-test"
    bench_dir.mkdir(parents=True)
    (bench_dir / "tags").write_text("".join(f"{tag}\n" for tag in tags))
    (bench_dir / "image.tar").touch()  # the bind mount's target
    unit_dir = root / "etc/systemd/system"
    (unit_dir / _IMAGE_UNIT).write_text(_IMAGE_UNIT_TEXT)
    (unit_dir / "multi-user.target.wants" / _IMAGE_UNIT).symlink_to(f"../{_IMAGE_UNIT}")
    return root


def _start(
    name: str, directory: Path, root: Path, env: Mapping[str, str] | None
) -> subprocess.Popen[bytes]:
    cgroups = [Path(f"/sys/fs/cgroup/{tree}/{name}") for tree in ("systemd", "unified")]
    for cgroup in cgroups:
        cgroup.mkdir(exist_ok=True)
    # Its own cgroup first: two containers started from one cgroup fail with 219/CGROUP.
    enter = "; ".join(f"echo $$ > {shlex.quote(str(c / 'cgroup.procs'))}" for c in cgroups)
    argv = [
        "systemd-nspawn", "-q", "-D", str(root), "-b", "--register=no", "--keep-unit",
        "-M", name, f"--network-namespace-path=/run/netns/{name}", "--capability=all",
        "--system-call-filter=@keyring bpf", f"--bind={directory / 'docker'}:/var/lib/docker",
        f"--bind-ro={image_tar()}:{_IMAGE_TAR_IN_INSTANCE}", "--console=pipe",
    ]  # fmt: skip
    environment = dict(os.environ if env is None else env)
    environment["SYSTEMD_NSPAWN_API_VFS_WRITABLE"] = "1"
    log = (directory / "nspawn.log").open("wb")
    with log:
        return subprocess.Popen(
            ["sh", "-c", f"umask 022; {enter}; exec {shlex.join(argv)}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )


def _halt(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)  # nspawn halts the container's systemd
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _remove_instance(name: str, directory: Path) -> None:
    for pid in host.nspawn_pids(name):
        host.kill_and_wait(pid)
    for mount in sorted(host.mounts_under(directory), key=len, reverse=True):
        host.quiet("umount", "-l", mount)
    host.quiet("ip", "netns", "del", name)
    veth = name.replace("-", "v", 1) if name.startswith(PREFIX) else name
    host.quiet("ip", "link", "del", veth)
    for tree in ("systemd", "unified"):
        host.remove_cgroup(Path(f"/sys/fs/cgroup/{tree}/{name}"))
    shutil.rmtree(directory, ignore_errors=True)


def _sweep_bench(index: int) -> list[str]:
    prefix = f"{PREFIX}{index}"
    removed = []
    names = {n for n in host.netns_names() if n.startswith(f"{prefix}-")}
    names |= {p.name for p in instances_dir().glob(f"{prefix}-*")}
    for tree in ("systemd", "unified"):
        names |= {p.name for p in Path(f"/sys/fs/cgroup/{tree}").glob(f"{prefix}-*")}
    for name in sorted(names):
        _remove_instance(name, instances_dir() / name)
        removed.append(name)
    for link in host.link_names():
        if link.startswith(prefix) and link[len(prefix) :][:1] in ("v", "b"):
            host.quiet("ip", "link", "del", link)
            removed.append(link)
    return removed


__all__ = [
    "LOCAL_IMAGE",
    "SSH_USER",
    "Bench",
    "HarnessError",
    "Instance",
    "join_bench",
    "leftovers",
    "machine_running",
    "missing_pieces",
    "open_bench",
    "stop_machine",
    "sweep_stale",
]
