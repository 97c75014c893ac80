"""The server's orphan sweep: every SWEEP_SECONDS (the first one a period after the server
starts), what `dstack fleet --orphans --delete` does by hand (engine/services/orphans.py):
stacks no fleet row names are destroyed, and instances tagged with the project that no stack
owns are terminated. Only the project's tagged resources are looked at. Without a stack
cloud configured (or without the engine that lists its stacks: the Pulumi CLI) there is
nothing to sweep, and nothing is said."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ...stacks.errors import StackError
from ..errors import FleetstackError

SWEEP_SECONDS = 600.0
SWEEP_ENV = "FLEETSTACK_SWEEP_SECONDS"  # a shorter period (a test, a busy team)


@dataclass
class OrphanSweeper:
    """Runs a sweep when one is due; `log` gets one line per resource removed."""

    log: Callable[[str], None]
    period: float = SWEEP_SECONDS
    last: float = field(default_factory=time.monotonic)  # the first sweep is one period in

    @classmethod
    def from_environment(cls, log: Callable[[str], None]) -> OrphanSweeper:
        period = float(os.environ.get(SWEEP_ENV) or SWEEP_SECONDS)
        return cls(log, period)

    def maybe_sweep(self) -> list[str]:
        now = time.monotonic()
        if now - self.last < self.period:
            return []
        self.last = now
        from ..services import orphans

        try:
            report = orphans.find()
        except (FleetstackError, StackError):
            return []  # nothing configured to sweep, or no engine to list stacks with here
        if not report.orphans:
            return []
        try:
            removed = orphans.delete(report.orphans)
        except (FleetstackError, StackError) as exc:
            self.log(f"orphan sweep failed: {exc}")
            return []
        for item in removed:
            self.log(f"orphan sweep removed {item} (no fleet accounted for it)")
        return removed
