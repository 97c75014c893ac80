"""Failover: when a stack's `up` fails for capacity or quota, destroy what it created and try
the plan's next offer, up to MAX_ATTEMPTS offers, each attempt reported.

The offers tried are the plan's own, in its order (cheapest first), from its chosen offer
on: only offers on clouds with a stack program, never one above the run's `max_price`, and
never the same machine twice (backend, region, instance type, spot). Any other error
(credentials, a broken program, an interrupted update) stops at once: another offer would
fail the same way. The backend recognises its cloud's capacity errors
(Backend.capacity_errors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ...stacks.offline import offline_plan
from ...stacks.spec import StackSpec
from ..backends.base import Capability
from ..backends.config import BackendsConfig
from ..backends.registry import get_backend
from ..errors import FleetstackError
from ..models.json import JSONObject
from ..models.offers import Offer
from ..models.plan import Plan, ResourcePlan
from ..state import FleetRecord, State
from .lifecycle import FleetDriver, apply_fleet
from .stacks import stack_spec_for

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Attempt:
    """One offer tried; `error` is None for the one that worked."""

    number: int
    offer: Offer
    error: str | None = None


def failover_offers(plan: Plan, first: Offer, *, limit: int = MAX_ATTEMPTS) -> list[Offer]:
    """`first`, then the plan's next distinct stack-cloud offers within max_price."""
    max_price = plan.requirements.max_price
    offers = plan.offers.offers
    start = offers.index(first) if first in offers else 0
    chosen: list[Offer] = [first]
    seen = {_machine(first)}
    for offer in offers[start + 1 :]:
        if len(chosen) >= limit:
            break
        if not get_backend(offer.backend).supports(Capability.STACK):
            continue
        if max_price is not None and offer.price > max_price:
            continue
        if _machine(offer) in seen:
            continue
        seen.add(_machine(offer))
        chosen.append(offer)
    return chosen


def apply_with_failover(
    state: State,
    plan: Plan,
    rp: ResourcePlan,
    *,
    driver_for: Callable[[str], FleetDriver],
    config: BackendsConfig | None,
    on_attempt: Callable[[Attempt], None],
    on_output: Callable[[str], None] | None = None,
    idle_duration: int | None = None,
    min_nodes: int = 0,
    limit: int = MAX_ATTEMPTS,
    applied_for: Callable[[StackSpec], JSONObject] | None = None,
) -> FleetRecord:
    """apply_fleet of `rp`, then of the plan's next offers while `up` fails for capacity; the
    fleet of the offer that worked. Raises the last error when every attempt failed.
    `applied_for(spec)` is what the fleet records it was applied from (engine/fleets/update.py)."""
    attempts = [
        rp if offer == rp.offer else _resource_plan(plan, rp, offer, config)
        for offer in failover_offers(plan, rp.offer, limit=limit)
    ]
    return apply_attempts(state, attempts, driver_for=driver_for, on_attempt=on_attempt,
                          on_output=on_output, idle_duration=idle_duration,
                          min_nodes=min_nodes, applied_for=applied_for)  # fmt: skip


def apply_attempts(
    state: State,
    attempts: Sequence[ResourcePlan],
    *,
    driver_for: Callable[[str], FleetDriver],
    on_attempt: Callable[[Attempt], None],
    on_output: Callable[[str], None] | None = None,
    idle_duration: int | None = None,
    min_nodes: int = 0,
    applied_for: Callable[[StackSpec], JSONObject] | None = None,
) -> FleetRecord:
    """apply_fleet of each resource plan in turn while `up` fails for capacity (what the
    failed up created is destroyed first); the fleet of the one that worked."""
    for number, attempt in enumerate(attempts, 1):
        offer = attempt.offer
        driver = driver_for(offer.backend)
        try:
            applied = applied_for(attempt.spec) if applied_for is not None else None
            fleet = apply_fleet(state, attempt, driver=driver, on_output=on_output,
                                idle_duration=idle_duration, min_nodes=min_nodes,
                                applied=applied)  # fmt: skip
        except FleetstackError as exc:
            if not get_backend(offer.backend).is_capacity_error(str(exc)):
                raise  # another offer would fail the same way: the error as it is
            on_attempt(Attempt(number, offer, _first_line(str(exc))))
            # what the failed up created is destroyed before another cloud or region is tried
            driver.destroy(attempt.spec.project, attempt.spec.fleet, offer.backend)
            if number == len(attempts):
                raise FleetstackError(
                    f"no capacity on the {len(attempts)} offers tried "
                    f"(the last said: {_first_line(str(exc))})"
                ) from None
            continue
        on_attempt(Attempt(number, offer))
        return fleet
    raise FleetstackError("nothing to provision: the plan has no offer on a stack cloud")


def _resource_plan(
    plan: Plan, rp: ResourcePlan, offer: Offer, config: BackendsConfig | None
) -> ResourcePlan:
    """The resource plan of a failover offer (the same key and fleet, evaluated offline)."""
    spec = stack_spec_for(
        plan, offer, ssh_public_key=rp.spec.ssh_public_key, project=rp.spec.project, config=config
    )
    return ResourcePlan(offer, spec, offline_plan(spec), "offline", "failover offer")


def _machine(offer: Offer) -> tuple[str, str, str, bool]:
    return (offer.backend, offer.region, offer.instance_type, offer.spot)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text
