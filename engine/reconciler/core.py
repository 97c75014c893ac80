"""One reconciler pass over the state database; the steps are the modules beside this one."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable

from ..backends.local.host import HostResources
from ..fleets.lifecycle import FleetDriver
from ..state import State
from ..state.models import utcnow
from . import fleets, jobs, provision, runs
from .context import Clock, PassContext, PassReport
from .leases import LeaseKeeper


class Reconciler:
    """Runs passes over `state` as `owner` (the name its claims carry)."""

    def __init__(
        self,
        state: State,
        *,
        clock: Clock = utcnow,
        owner: str | None = None,
        driver_for: Callable[[str], FleetDriver] | None = None,
        host: HostResources | None = None,
        leases: LeaseKeeper | None = None,
    ) -> None:
        self.state = state
        self.leases = leases  # the server renews backstop leases; a test's passes need not
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.driver_for = driver_for
        self.host = host

    def run_pass(self) -> PassReport:
        """One step for every entity that can move: jobs, runs, fleets (runs twice: before
        jobs start, for due retries, and after, for jobs that found no capacity)."""
        ctx = PassContext(
            self.state, self.clock(), self.owner, self.driver_for, PassReport(), self.host
        )
        jobs.settle_ended(ctx)
        fleets.follow_jobs_on_instances(ctx)  # before release: a job's instance is busy
        runs.follow_jobs(ctx)  # ended jobs end their runs; due retries are resubmitted
        jobs.start_submitted(ctx)
        # a job that could not start moves its run now, not next pass
        if ctx.touched_runs:
            runs.follow_jobs(ctx, only=sorted(ctx.touched_runs))
        fleets.release_idle(ctx)
        provision.abandoned_fleets(ctx)
        if self.leases is not None:
            self.leases.step(ctx)
        return ctx.report
