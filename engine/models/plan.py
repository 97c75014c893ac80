"""The plan of a run or fleet: what was asked, the offers, and what apply will do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .offers import OfferList, Requirements


@dataclass
class Plan:
    configuration_path: str
    configuration: Any
    requirements: Requirements
    offers: OfferList
    run_name: str
    properties: list[tuple[str, str]] = field(default_factory=list)

    @property
    def max_price(self) -> float | None:
        """The price of the dearest offer for the whole run (offers are sorted by price)."""
        offers = self.offers.offers
        return offers[-1].price * self.requirements.nodes if offers else None
