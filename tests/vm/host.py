"""Host-side plumbing of the VM harness: network namespaces, veths, cgroups, mounts and the
processes of systemd-nspawn, found and removed by name."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


class HostError(RuntimeError):
    """A host command the harness needs failed."""


def plug(bridge: str, netns: str, veth: str, address: str) -> None:
    run_ip("netns", "add", netns)
    run_ip("link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns)
    run_ip("link", "set", veth, "master", bridge, "up")
    run_ip("-n", netns, "addr", "add", f"{address}/24", "dev", "eth0")
    run_ip("-n", netns, "link", "set", "eth0", "up")
    run_ip("-n", netns, "link", "set", "lo", "up")
    # nspawn leaves /proc/sys read-only inside, and dockerd wants forwarding on
    subprocess.run(
        ["ip", "netns", "exec", netns, "sysctl", "-qw", "net.ipv4.ip_forward=1"], check=True
    )


def remove_cgroup(path: Path) -> None:
    if not path.is_dir():
        return
    for child in sorted(path.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if child.is_dir():
            rmdir_when_empty(child)
    rmdir_when_empty(path)


def rmdir_when_empty(path: Path) -> None:
    deadline = time.monotonic() + 5
    while True:
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:  # processes still leaving it
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)


def descendants(pid: int) -> list[int]:
    found: list[int] = []
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        found += [int(c) for c in children]
        todo += [int(c) for c in children]
    return found


def nspawn_pids(name_prefix: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(b"systemd-nspawn") and any(
            a == b"-M" and i + 1 < len(argv) and argv[i + 1].startswith(name_prefix.encode())
            for i, a in enumerate(argv)
        ):
            pids.append(int(entry.name))
    return pids


def kill_and_wait(pid: int) -> None:
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def netns_names() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def link_names() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]


def mounts_under(directory: Path) -> list[str]:
    prefix = str(directory).rstrip("/") + "/"
    points = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    return [p for p in points if p.startswith(prefix) or p == prefix.rstrip("/")]


def run_ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True)
    if result.returncode != 0:
        raise HostError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def quiet(*argv: str) -> None:
    subprocess.run(argv, capture_output=True)
