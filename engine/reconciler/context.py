"""What every step of a pass is given: the state, the pass's `now`, the claim owner, and the
report it adds to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from ..backends.local.host import HostResources
from ..fleets.lifecycle import FleetDriver
from ..state import State

Clock = Callable[[], datetime]


@dataclass
class PassReport:
    """What one pass did: ids of the rows each step moved, and the errors it logged."""

    jobs_started: list[str] = field(default_factory=list)
    jobs_without_capacity: list[str] = field(default_factory=list)
    jobs_settled: list[str] = field(default_factory=list)
    runs_changed: list[str] = field(default_factory=list)
    fleets_released: list[str] = field(default_factory=list)
    instances_released: list[str] = field(default_factory=list)  # down to nodes.min
    errors: list[str] = field(default_factory=list)

    @property
    def moved(self) -> bool:
        return bool(
            self.jobs_started
            or self.jobs_without_capacity
            or self.jobs_settled
            or self.runs_changed
            or self.fleets_released
            or self.instances_released
        )


@dataclass
class PassContext:
    state: State
    now: datetime
    owner: str
    driver_for: Callable[[str], FleetDriver] | None
    report: PassReport
    host: HostResources | None = None  # this machine's resources; None: detected
    touched_runs: set[str] = field(default_factory=set)  # runs whose jobs this pass moved

    def drivers(self) -> Callable[[str], FleetDriver]:
        """The stack engine of each backend: the one given, else config.yml's choice."""
        if self.driver_for is not None:
            return self.driver_for
        from ..backends.config import load_backends_config
        from ..fleets.stacks import stack_engine_for

        config = load_backends_config()
        return lambda cloud: stack_engine_for(cloud, config)
