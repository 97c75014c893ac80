"""`dstack apply`: plan a configuration (offers, stack diff), confirm, then run it."""

from __future__ import annotations

import typer

from .apply_plan import plan_and_confirm
from .commands import help_of
from .options import Backends, InstanceTypes, MaxPrice, Regions, spot_policy

app = typer.Typer(add_completion=False)


@app.command(
    "apply",
    help=help_of("apply"),
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def apply_command(
    ctx: typer.Context,
    file: str = typer.Option(..., "-f", "--file", help="The configuration file (.dstack.yml)"),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the plan and exit"),
    detach: bool = typer.Option(False, "-d", "--detach", help="Do not attach to the run"),
    backend: Backends = None,
    region: Regions = None,
    instance_type: InstanceTypes = None,
    spot: bool = typer.Option(False, "--spot", help="Spot instances only"),
    on_demand: bool = typer.Option(False, "--on-demand", help="On-demand instances only"),
    spot_auto: bool = typer.Option(False, "--spot-auto", help="Spot or on-demand, cheapest first"),
    max_price: MaxPrice = None,
    max_offers: int = typer.Option(3, "--max-offers", help="Offers shown in the plan"),
    profile: str | None = typer.Option(None, "--profile", help="Profile from .dstack/profiles.yml"),
) -> None:
    overrides = {
        "backends": backend or None,
        "regions": region or None,
        "instance_types": instance_type or None,
        "spot_policy": spot_policy(spot, on_demand, spot_auto),
        "max_price": max_price,
    }
    args = [a for a in ctx.args if a != "--"]
    plan_and_confirm(file, args, overrides, yes=yes, dry_run=dry_run, detach=detach,
                     max_offers=max_offers, profile=profile)  # fmt: skip
