"""The plan and offer tables, and how any table is printed (`print_table`).

`dstack ps` lays out its own rows for speed (views/ps.py) and prints through `print_rows`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ...engine.backends.base import Capability
from ...engine.backends.registry import names_with
from ...engine.config import FleetConfiguration
from ...engine.models.offers import Offer, format_price
from ...engine.models.plan import Plan, ResourcePlan
from ...stacks.diff import diff_rows

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


def render_plan(plan: Plan, console: Console, *, max_offers: int = 3) -> None:
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
        f"Shown {shown} of {plan.offers.total} offers, {format_price(plan.max_price or 0)} max"
    )


def render_offers(
    console: Console, offers: Sequence[Offer], *, nodes: int = 1, start: int = 1
) -> None:
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
    columns = ("#", "BACKEND", "REGION", "INSTANCE", "RESOURCES", "SPOT", "PRICE")
    natural = [max([len(col), *(_cell_len(r[n]) for r in rows)]) for n, col in enumerate(columns)]
    # #, SPOT and PRICE stay whole (a cut price or row number would mislead); RESOURCES wraps
    width = console.width if console.is_terminal else 10_000  # piped: every column whole
    widths = fit_widths(natural, keep={0, 5, 6}, wraps=4, width=width)
    table = Table(box=None, header_style="bold")
    for col, width in zip(columns, widths, strict=True):
        if col == "RESOURCES":
            table.add_column(col, width=width)
        else:
            table.add_column(col, no_wrap=True, overflow="ellipsis", width=width)
    for row in rows:
        table.add_row(*row)
    print_table(console, table)


def fit_widths(natural: list[int], *, keep: set[int], wraps: int, width: int) -> list[int]:
    """Column widths for a table of `width` cells: the columns in `keep` at their natural
    width; when that is too wide, the widest of the others is cut first (down to 6), and the
    column `wraps` (which wraps its text) gets what is left, at least 12."""
    spare = width - 2 * len(natural)  # rich's table pads each cell by one on each side
    widths = list(natural)
    shrinkable = [i for i in range(len(widths)) if i not in keep and i != wraps]
    floor_wrap = min(natural[wraps], 12)
    while sum(widths) - widths[wraps] + floor_wrap > spare:
        widest = max(shrinkable, key=lambda i: widths[i])
        if widths[widest] <= 6:
            break
        widths[widest] -= 1
    widths[wraps] = max(floor_wrap, min(natural[wraps], spare - (sum(widths) - widths[wraps])))
    return widths


def _cell_len(text: str) -> int:
    """The printed width of a cell written with rich markup (`[dim]...[/dim]`)."""
    from rich.text import Text

    return Text.from_markup(text).cell_len


def print_table(console: Console, table: Table) -> None:
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


def render_stack_plan(plan: Plan, console: Console) -> None:
    """What the plan's stack would change, under the offers (nothing for a local run)."""
    offers = plan.offers.offers
    if not offers or plan.runs_here:
        return
    if plan.is_empty_fleet:
        console.print(
            f"\nFleet {plan.run_name} starts with no instance ({nodes_text(plan)}): nothing is "
            "created now; its stack gets instances when runs need them."
        )
        return
    if plan.chosen_offer is None:
        console.print(
            f"\n[yellow]No resource plan: no offer is on a backend with a stack program "
            f"({', '.join(names_with(Capability.STACK))}); {offers[0].backend} cannot be "
            "provisioned yet.[/yellow]"
        )
        return
    if plan.resource_plan is not None:
        render_resource_plan(plan, plan.resource_plan, console)


def nodes_text(plan: Plan) -> str:
    """`nodes: 2` or `nodes: 0..3` of a fleet's configuration."""
    configuration = plan.configuration
    nodes = configuration.nodes if isinstance(configuration, FleetConfiguration) else 1
    if isinstance(nodes, int) or nodes is None:
        return f"nodes: {nodes}"
    return f"nodes: {nodes.min or 0}..{nodes.max if nodes.max is not None else ''}"


def render_resource_plan(plan: Plan, rp: ResourcePlan, console: Console) -> None:
    """The stack's resources under the offers: `+ create  aws:ec2/instance:Instance  name ...`."""
    spec = rp.spec
    where = f"{rp.offer.backend} {rp.offer.region}, {spec.nodes} × {rp.offer.instance_type}"
    if plan.passed_over:
        passed = plan.passed_over[0]
        where += f"; cheaper offers on {passed.backend} {passed.reason}"
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
