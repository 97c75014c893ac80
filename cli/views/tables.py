"""The plan and offer tables, and how any rich table is printed."""

from __future__ import annotations

from typing import Any

from ...engine.backends.base import Capability
from ...engine.backends.registry import get_backend
from ...engine.fleets.stacks import ResourcePlan
from ...engine.models.offers import Offer, format_price
from ...engine.models.plan import Plan
from ...stacks.diff import diff_rows


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


def render_resource_plan(rp: ResourcePlan, console: Any) -> None:
    """The stack's resources under the offers: `+ create  aws:ec2/instance:Instance  name ...`."""
    spec = rp.spec
    where = f"{rp.offer.backend} {rp.offer.region}, {spec.nodes} × {rp.offer.instance_type}"
    if rp.offer is not rp.cheapest:
        reason = get_backend(rp.cheapest.backend).reason(Capability.STACK)
        where += f"; cheaper offers on {rp.cheapest.backend} {reason}"
    console.print()
    if rp.source == "offline":
        console.print(
            f"[bold]Resource plan[/bold] of stack fleetstack/{spec.stack_name} ({where}) — "
            f"[yellow]offline: evaluated in-process, no state compared[/yellow] ({rp.reason})"
        )
    else:
        console.print(
            f"[bold]Resource plan[/bold] of stack fleetstack/{spec.stack_name} ({where}) — "
            "pulumi preview against the stack's state"
        )
    # One line per resource, its details indented below: readable at 80 columns and in CI logs.
    for symbol, op, rtype, name, changed in diff_rows(rp.diff):
        console.print(f" {symbol:2} {op:7} {rtype}  {name}", markup=False, highlight=False)
        if changed:
            console.print(f"            {changed}", markup=False, highlight=False)
    console.print(rp.diff.summary())
