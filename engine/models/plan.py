"""The plan of a run or fleet: what was asked, the offers, the offer apply takes, what its
stack would change and why other offers were passed over. Apply executes exactly this."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import JsonValue

from ..config import AnyConfiguration, FleetConfiguration
from .offers import Offer, OfferList, Requirements

if TYPE_CHECKING:
    from ...stacks.diff import StackDiff
    from ...stacks.spec import StackSpec


@dataclass(frozen=True)
class PassedOver:
    """A backend whose offers the plan did not take, and why (one line)."""

    backend: str
    reason: str


@dataclass
class ResourcePlan:
    """What the fleet's stack would change for the plan's chosen offer."""

    offer: Offer
    spec: StackSpec
    diff: StackDiff
    source: str  # "preview" (compared with the stack's state) or "offline"
    reason: str | None = None  # why the plan is offline


@dataclass
class Plan:
    configuration_path: str
    configuration: AnyConfiguration
    requirements: Requirements
    offers: OfferList
    run_name: str
    properties: list[tuple[str, str]] = field(default_factory=list)
    chosen_offer: Offer | None = None  # decided when the plan is built; apply takes it
    runs_here: bool = False  # the chosen offer is this machine (no stack)
    passed_over: list[PassedOver] = field(default_factory=list)
    resource_plan: ResourcePlan | None = None  # the stack diff, for a plan that has a stack
    # env names whose values are secret (the configuration holds their digests), and the
    # values of a plan made to submit: kept in memory only, never in to_json or a view
    secret_env: list[str] = field(default_factory=list)
    secret_values: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def is_fleet(self) -> bool:
        return isinstance(self.configuration, FleetConfiguration)

    @property
    def is_empty_fleet(self) -> bool:
        """A fleet such as `nodes: 0..2`: it owns no instance until a run needs one."""
        return isinstance(self.configuration, FleetConfiguration) and (
            self.configuration.node_count == 0
        )

    @property
    def max_price(self) -> float | None:
        """The price of the dearest offer for the whole run (offers are sorted by price)."""
        offers = self.offers.offers
        return offers[-1].price * self.requirements.nodes if offers else None

    def to_json(self) -> dict[str, JsonValue]:
        """The whole plan as JSON: requirements, offers, the chosen one, the stack's diff."""
        nodes = self.requirements.nodes
        rp = self.resource_plan
        return {
            "configuration_path": self.configuration_path,
            "type": self.configuration.type,
            "name": self.run_name,
            "properties": {key: value for key, value in self.properties},
            "offers": [offer.to_json(nodes) for offer in self.offers.offers],
            "total_offers": self.offers.total,
            "empty_reason": self.offers.empty_reason,
            "chosen_offer": self.chosen_offer.to_json(nodes) if self.chosen_offer else None,
            "runs_here": self.runs_here,
            "passed_over": [{"backend": p.backend, "reason": p.reason} for p in self.passed_over],
            "resource_plan": None
            if rp is None
            else {
                "stack": rp.spec.stack_name,
                "source": rp.source,
                "reason": rp.reason,
                "changes": [
                    {"op": c.op, "type": c.type, "name": c.name, "changed": list(c.changed)}
                    for c in rp.diff.changes
                ],
                "summary": rp.diff.summary(),
            },
        }
