"""The plan of a run: its properties and its offers, and how both are rendered with rich."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..offers.match import (
    Offer,
    OfferList,
    Requirements,
    check_backends,
    find_offers,
    format_price,
)


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


def build_plan(loaded: Any, overrides: dict[str, Any] | None = None, *, config=None) -> Plan:
    """The plan of a LoadedConfiguration with CLI overrides (backends, regions, spot_policy...).

    Overrides (None = flag not given) win over the file and its profiles, as in dstack; the
    plan carries the overridden configuration, so what is run is what was planned.
    """
    configuration = loaded.configuration
    flags = {k: v for k, v in (overrides or {}).items() if v is not None}
    check_backends(flags.get("backends"), "-b")
    check_backends(getattr(configuration, "backends", None), f"{loaded.path}: backends:")
    if flags:
        from ..config import apply_overrides

        configuration = apply_overrides(configuration, **flags)
    req = Requirements.from_configuration(configuration)
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
    print_table(console, props)
    console.print()
    if not plan.offers.total:
        console.print(f"[yellow]{plan.offers.empty_reason}[/yellow]")
        return
    render_offers(console, plan.offers.offers[:max_offers], nodes=plan.requirements.nodes)
    shown = min(max_offers, plan.offers.total)
    console.print(
        f"Shown {shown} of {plan.offers.total} offers, {format_price(plan.max_price)} max"
    )


def render_offers(console: Any, offers: list[Offer], *, nodes: int = 1, start: int = 1) -> None:
    """dstack's table: `#  BACKEND  REGION  INSTANCE  RESOURCES  SPOT  PRICE`."""
    from rich.table import Table

    rows = []
    for i, offer in enumerate(offers, start):
        backend = (
            offer.backend
            if offer.backend_configured
            else f"{offer.backend} [dim](not configured)[/dim]"
        )
        spot = "yes" if offer.spot else "no"
        price = format_price(offer.price * nodes)
        rows.append((str(i), backend, offer.region, offer.instance_type, offer.resources_text(),
                     spot, price))  # fmt: skip
    table = Table(box=None, header_style="bold")
    for n, col in enumerate(("#", "BACKEND", "REGION", "INSTANCE", "RESOURCES", "SPOT", "PRICE")):
        # short columns never shrink: a cut price or row number would mislead
        short = col in ("#", "SPOT", "PRICE")
        widest = max([len(col), *(len(r[n]) for r in rows)]) if short else None
        if col == "RESOURCES":  # the one column that wraps; never squeezed out of the table
            table.add_column(col, min_width=24, ratio=1)
        else:
            table.add_column(col, no_wrap=True, min_width=widest)
    for row in rows:
        table.add_row(*row)
    print_table(console, table)


def print_table(console: Any, table: Any) -> None:
    """Print a rich table; piped output gets its full width instead of the 80-column default."""
    if console.is_terminal:
        console.print(table)
        return
    from rich.measure import Measurement

    width = Measurement.get(console, console.options.update_width(10_000), table).maximum
    before = console.width
    console.width = max(width, before)
    try:
        console.print(table)
    finally:
        console.width = before


def _properties(loaded: Any, configuration: Any, req: Requirements) -> list[tuple[str, str]]:
    from ..models.durations import format_duration

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
        ("Max price", format_price(req.max_price) if req.max_price is not None else "-"),
        ("Retry", retry_text),
        ("Idle duration", format_duration(getattr(configuration, "idle_duration", None))),
        ("Max duration", format_duration(getattr(configuration, "max_duration", None))),
        ("Nodes", str(req.nodes)),
    ]
