"""The base root filesystem every harness instance overlays: built once with debootstrap,
cached outside the repo under a directory named after a hash of its package list.

A crash mid-build leaves only `<cache>/building-*` behind (the finished base is renamed
into place in one step); the next build removes those leftovers first.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SUITE = "bookworm"
MIRROR_DEFAULT = "http://deb.debian.org/debian"
# debootstrap --include (python3-cffi-backend must be named: the virtual
# python3-cffi-backend-api-min is not resolved and the build fails after minutes)
DEBOOTSTRAP_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "cloud-init",
    "openssh-server",
    "python3-cffi-backend",
    "iproute2",
    "ifupdown",
    "isc-dhcp-client",
    "iputils-ping",
    "procps",
)
# installed inside the bootstrapped root with apt (debootstrap cannot resolve docker's deps)
APT_PACKAGES = ("docker.io", "sudo", "locales", "iptables", "ca-certificates")
CLOUD_CFG = "datasource_list: [ NoCloud, None ]\nnetwork: {config: disabled}\n"
# what the harness runs on the host, and the Debian package that has it
HOST_TOOLS = {
    "debootstrap": "debootstrap",
    "systemd-nspawn": "systemd-container",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "ssh": "openssh-client",
}


def cache_dir() -> Path:
    """Where bases live: $FLEETSTACK_VM_CACHE, else /var/cache/fleetstack-vm."""
    return Path(os.environ.get("FLEETSTACK_VM_CACHE", "/var/cache/fleetstack-vm"))


def base_key() -> str:
    """A short hash of everything that decides the base's contents."""
    text = "\n".join([SUITE, *DEBOOTSTRAP_PACKAGES, "--", *APT_PACKAGES, CLOUD_CFG])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def base_path() -> Path:
    """The finished base for today's package list (it may not exist yet)."""
    return cache_dir() / f"base-{base_key()}"


def missing_host_tools() -> list[str]:
    """Debian packages to install before a base can be built or booted."""
    return sorted({pkg for tool, pkg in HOST_TOOLS.items() if shutil.which(tool) is None})


def build_base(mirror: str | None = None) -> Path:
    """Build the base unless it is cached; return its path (with an image's file modes,
    whatever the caller's umask: the test session runs with 077)."""
    old = os.umask(0o022)
    try:
        return _build_base(mirror)
    finally:
        os.umask(old)


def _build_base(mirror: str | None) -> Path:
    target = base_path()
    if target.is_dir():
        return target
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    for leftover in cache.glob("building-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    work = Path(tempfile.mkdtemp(prefix="building-", dir=cache))
    root = work / "root"
    include = ",".join(DEBOOTSTRAP_PACKAGES)
    _run(
        "debootstrap", "--variant=minbase", f"--include={include}", SUITE, str(root),
        mirror or _host_mirror(),
    )  # fmt: skip
    script = (
        "export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && "
        f"apt-get install -y -qq --no-install-recommends {' '.join(APT_PACKAGES)} && "
        "apt-get clean && rm -rf /var/lib/apt/lists/*"
    )
    _run(
        "systemd-nspawn", "-q", "-D", str(root), "--register=no", "--keep-unit", "--pipe",
        "sh", "-c", script,
    )  # fmt: skip
    (root / "etc/cloud/cloud.cfg.d/99-fleetstack-test.cfg").write_text(CLOUD_CFG)
    (root / "etc/machine-id").write_text("")
    # the base is never booted itself; each instance's docker daemon starts clean
    shutil.rmtree(root / "var/lib/docker", ignore_errors=True)
    root.rename(target)
    shutil.rmtree(work, ignore_errors=True)
    return target


def _host_mirror() -> str:
    """The Debian mirror this machine's apt already uses."""
    for source in [Path("/etc/apt/sources.list"), *Path("/etc/apt/sources.list.d").glob("*")]:
        try:
            lines = source.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split()
            urls = (
                [w for w in words[1:] if w.startswith("http")]
                if words[:1] in (["URIs:"], ["deb"])
                else []
            )
            for url in urls:
                if url.rstrip("/").endswith("/debian"):
                    return url
    return MIRROR_DEFAULT


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)


if __name__ == "__main__":
    print(build_base(sys.argv[1] if len(sys.argv) > 1 else None))
