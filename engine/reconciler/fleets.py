"""The fleets step: fleets idle past their idle_duration are destroyed (their stack's
destroy runs outside any transaction; engine/fleets/lifecycle.delete_fleet records each
step, so a crash mid-destroy leaves the fleet `terminating` and the next pass destroys it
again: destroy is idempotent)."""

from __future__ import annotations

from collections.abc import Callable

from ..backends.config import load_backends_config
from ..errors import FleetstackError
from ..fleets.lifecycle import FleetDriver, idle_fleets, reap_idle_fleets
from ..fleets.stacks import stack_engine_for
from ..state import FleetStatus, list_fleets
from ..state.claims import claim, release
from ..state.models import FleetRow
from .context import PassContext


def release_idle(ctx: PassContext) -> None:
    """Destroy the fleets idle past their idle_duration; finish interrupted destroys."""
    due = idle_fleets(ctx.state, now=ctx.now)
    due += [f for f in list_fleets(ctx.state) if f.status is FleetStatus.TERMINATING]
    if not due:
        return
    ids = claim(ctx.state, FleetRow, ctx.owner, now=ctx.now, ids=[f.id for f in due])
    try:
        mine = [f for f in due if f.id in ids]
        if not mine:
            return
        try:
            released = reap_idle_fleets(
                ctx.state, driver_for=_driver_for(ctx), now=ctx.now, due=mine
            )
        except FleetstackError as exc:
            ctx.report.errors.append(str(exc))
            return
        ctx.report.fleets_released += released
    finally:
        release(ctx.state, FleetRow, ids, ctx.owner)


def _driver_for(ctx: PassContext) -> Callable[[str], FleetDriver]:
    if ctx.driver_for is not None:
        return ctx.driver_for
    config = load_backends_config()
    return lambda cloud: stack_engine_for(cloud, config)
