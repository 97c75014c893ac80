"""The lease step: the reconciler renews the backstop lease of every cloud instance it looks
after, at most once per RENEW_SECONDS each (templates/backstop.py: an instance whose lease
is older than its deadline, and that ran no job for its idle time, powers itself off).

The SSH calls run in a small thread pool and never inside a pass or a transaction: a pass
hands out the renewals that are due and collects the ones that ended since the last pass
(an instance that did not answer is reported once per failure, in the server's log).
"""

from __future__ import annotations

import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ...templates.backstop import RENEW_COMMAND
from ..backends.base import Capability
from ..backends.registry import get_backend
from ..models.statuses import InstanceStatus
from ..remote.connection import Connection
from ..remote.start import instance_target
from ..state import InstanceRecord, list_instances
from .context import PassContext

RENEW_SECONDS = 60.0  # a lease is renewed at most this often (its deadline is 15 min)
RENEW_ENV = "FLEETSTACK_LEASE_RENEW_SECONDS"  # another period (a test)
WORKERS = 4
RENEW_TIMEOUT_SECONDS = 30.0


@dataclass
class LeaseKeeper:
    """Which instance was renewed when, and the renewals under way (one per reconciler)."""

    renew_seconds: float = field(
        default_factory=lambda: float(os.environ.get(RENEW_ENV) or RENEW_SECONDS)
    )
    renewed: dict[str, float] = field(default_factory=dict)  # instance id -> monotonic time
    pending: dict[str, Future[None]] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None

    def step(self, ctx: PassContext) -> None:
        """Collect the renewals that ended; start the ones that are due."""
        for instance_id, future in list(self.pending.items()):
            if not future.done():
                continue
            del self.pending[instance_id]
            error = future.exception()
            if error is not None:
                ctx.report.errors.append(f"lease of instance {instance_id} not renewed: {error}")
        now = time.monotonic()
        instances = _cloud_instances(ctx)
        live = {i.id for i in instances}
        for gone in [i for i in self.renewed if i not in live]:
            del self.renewed[gone]  # terminated: a long-lived server keeps no trace of it
        for instance in instances:
            if instance.id in self.pending:
                continue
            last = self.renewed.get(instance.id)
            if last is not None and now - last < self.renew_seconds:
                continue
            self.renewed[instance.id] = now
            self.pending[instance.id] = self._executor().submit(renew, instance)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="lease")
        return self._pool


def renew(instance: InstanceRecord) -> None:
    """Touch the instance's lease file over SSH (an SSHError says why it failed)."""
    with Connection(instance_target(instance)) as conn:
        result = conn.run(RENEW_COMMAND, timeout=RENEW_TIMEOUT_SECONDS)
    if result.returncode != 0:
        said = result.stderr.decode(errors="replace").strip()
        raise RuntimeError(said or f"exit status {result.returncode}")


def _cloud_instances(ctx: PassContext) -> list[InstanceRecord]:
    """Live instances on a stack cloud with an address (SSH hosts have no backstop)."""
    found = []
    for instance in list_instances(ctx.state, statuses=[InstanceStatus.IDLE, InstanceStatus.BUSY]):
        if not instance.hostname:
            continue
        if get_backend(instance.backend).supports(Capability.STACK):
            found.append(instance)
    return found
