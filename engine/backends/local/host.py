"""What this machine offers to the `local` backend: CPUs, memory, disk, NVIDIA GPUs."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field

from ...paths import dstack_home

_GB = 1024**3


@dataclass(frozen=True)
class HostGPU:
    name: str
    memory_gb: float
    vendor: str = "nvidia"


@dataclass(frozen=True)
class HostResources:
    cpus: int
    cpu_arch: str
    memory_gb: float
    disk_gb: float
    gpus: list[HostGPU] = field(default_factory=list)


def detect_host() -> HostResources:
    """Resources of this machine; GPUs through nvidia-smi when it is installed."""
    return HostResources(
        cpus=os.cpu_count() or 1,
        cpu_arch=_cpu_arch(),
        memory_gb=_memory_gb(),
        disk_gb=_disk_gb(),
        gpus=_nvidia_gpus(),
    )


def _cpu_arch() -> str:
    machine = platform.machine().lower()
    return "arm" if machine in ("arm64", "aarch64") or machine.startswith("arm") else "x86"


def _memory_gb() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / _GB
    except (ValueError, OSError, AttributeError):
        return 0.0


def _disk_gb() -> float:
    path = dstack_home()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).total / _GB


def _nvidia_gpus() -> list[HostGPU]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return parse_nvidia_smi(out)


def parse_nvidia_smi(output: str) -> list[HostGPU]:
    """Parse `name, 81920 MiB` lines into GPUs named like the catalog (e.g. "A100")."""
    gpus = []
    for line in output.splitlines():
        if "," not in line:
            continue
        raw_name, raw_memory = (part.strip() for part in line.rsplit(",", 1))
        try:
            memory_gb = float(raw_memory.split()[0]) / 1024
        except (ValueError, IndexError):
            memory_gb = 0.0
        gpus.append(HostGPU(name=_short_gpu_name(raw_name), memory_gb=round(memory_gb, 1)))
    return gpus


def _short_gpu_name(name: str) -> str:
    words = [w for w in name.replace("NVIDIA", "").split() if w not in ("Tesla", "GeForce")]
    for word in words:
        if any(c.isdigit() for c in word):
            return word.split("-")[0]
    return words[0] if words else name


@dataclass(frozen=True)
class HostPython:
    version: str  # e.g. "3.11.7"
    path: str


def host_python() -> HostPython | None:
    """The interpreter a local job's `python` (else `python3`) finds on this PATH, if any."""
    for name in ("python", "python3"):
        path = shutil.which(name)
        if path is None:
            continue
        try:
            out = subprocess.run(
                [path, "-c", "import platform; print(platform.python_version())"],
                capture_output=True, text=True, timeout=30, check=True,
            ).stdout.strip()  # fmt: skip
        except (OSError, subprocess.SubprocessError):
            continue
        return HostPython(out, path)
    return None
