"""The plan of a run: its properties and its offers, and how both are rendered with rich."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fleetstack.engine.offers import Offer, OfferList, Requirements, find_offers


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
        prices = [o.price * self.requirements.nodes for o in self.offers.offers]
        return max(prices) if prices else None


def build_plan(loaded: Any, overrides: dict[str, Any] | None = None, *, config=None) -> Plan:
    """The plan of a LoadedConfiguration with CLI overrides (backends, regions, spot_policy...)."""
    configuration = loaded.configuration
    req = Requirements.from_configuration(configuration)
    for key, value in (overrides or {}).items():
        if value is not None:
            setattr(req, key, value)
    offers = find_offers(req, config=config)
    name = getattr(configuration, "name", None) or loaded.path.stem.replace(".dstack", "") or "run"
    return Plan(
        configuration_path=str(loaded.path),
        configuration=configuration,
        requirements=req,
        offers=offers,
        run_name=name,
        properties=_properties(loaded, configuration, req),
    )


def render_plan(plan: Plan, console: Any, *, max_offers: int = 3) -> None:
    """Properties table, offers table, `Shown 3 of N offers, $X max`."""
    from rich.table import Table

    props = Table(box=None, show_header=False)
    props.add_column(style="bold")
    props.add_column()
    for key, value in plan.properties:
        props.add_row(key, value)
    console.print(props)
    console.print()
    render_offers(console, plan.offers.offers[:max_offers], nodes=plan.requirements.nodes)
    shown = min(max_offers, plan.offers.total)
    if plan.offers.total:
        console.print(f"Shown {shown} of {plan.offers.total} offers, ${plan.max_price:g} max")
    else:
        console.print(f"[yellow]{plan.offers.empty_reason}[/yellow]")


def render_offers(console: Any, offers: list[Offer], *, nodes: int = 1, start: int = 1) -> None:
    """dstack's table: `#  BACKEND  REGION  INSTANCE  RESOURCES  SPOT  PRICE`."""
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("#", "BACKEND", "REGION", "INSTANCE", "RESOURCES", "SPOT", "PRICE"):
        table.add_column(col, no_wrap=col != "RESOURCES")
    for i, offer in enumerate(offers, start):
        backend = (
            offer.backend
            if offer.backend_configured
            else f"{offer.backend} [dim](not configured)[/dim]"
        )
        table.add_row(
            str(i),
            backend,
            offer.region,
            offer.instance_type,
            offer.resources_text(),
            "yes" if offer.spot else "no",
            f"${offer.price * nodes:g}",
        )
    console.print(table)


def _properties(loaded: Any, configuration: Any, req: Requirements) -> list[tuple[str, str]]:
    from fleetstack.engine.durations import format_duration

    retry = getattr(configuration, "retry", None)
    retry_text = "no"
    if retry is not None:
        events = ", ".join(getattr(retry, "on_events", []) or []) or "any"
        retry_text = f"{events} ({format_duration(getattr(retry, 'duration', None))})"
    res = req.resources
    return [
        ("Configuration", str(loaded.path)),
        ("Type", getattr(configuration, "type", "")),
        ("Resources", res.pretty() if hasattr(res, "pretty") else str(res)),
        ("Spot policy", req.spot_policy),
        ("Max price", f"${req.max_price:g}" if req.max_price is not None else "-"),
        ("Retry", retry_text),
        ("Idle duration", format_duration(getattr(configuration, "idle_duration", None))),
        ("Max duration", format_duration(getattr(configuration, "max_duration", None))),
        ("Nodes", str(req.nodes)),
    ]
