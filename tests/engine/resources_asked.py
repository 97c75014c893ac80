"""`asked(...)`: the resources a configuration asks for, as the offers matcher reads them.

A stand-in for ResourcesSpec with only what matching reads (ranges as .min/.max), so a test
names just the constraints it is about.
"""

from __future__ import annotations

from types import SimpleNamespace as N
from typing import Any

Bounds = tuple[float | None, float | None]


def asked(
    gpu_count: tuple[int, int | None] = (0, None),
    gpu_name: list[str] | None = None,
    gpu_memory: Bounds | None = None,
    total: Bounds | None = None,
    vendor: str | None = None,
    cc: str | None = None,
    cpu: Bounds = (2, None),
    arch: str | None = None,
    memory: Bounds = (8, None),
    disk: Bounds | None = None,
) -> Any:
    """Resources asking for these bounds (min, max; None is open); `total` is GPU memory."""
    return N(
        cpu=N(arch=arch, count=_range(*cpu)),
        memory=_range(*memory),
        disk=N(size=_range(*disk)) if disk else None,
        gpu=N(
            vendor=vendor,
            name=gpu_name,
            count=_range(*gpu_count),
            memory=gpu_memory and _range(*gpu_memory),
            total_memory=total and _range(*total),
            compute_capability=cc,
        ),
        wants_gpu=gpu_count[0] > 0,
        pretty=lambda: "these resources",
    )


def _range(lo: float | None = None, hi: float | None = None) -> N:
    return N(min=lo, max=hi)
