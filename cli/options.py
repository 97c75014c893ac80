"""The requirement options that `dstack apply` and `dstack offer` share, and the spot policy
their spot flags give (each command words the spot flags' help for itself)."""

from __future__ import annotations

from typing import Annotated

import typer

Backends = Annotated[list[str] | None, typer.Option("-b", "--backend", help="Backend (repeatable)")]
Regions = Annotated[list[str] | None, typer.Option("-r", "--region", help="Region (repeatable)")]
InstanceTypes = Annotated[list[str] | None, typer.Option("--instance-type", help="Instance type")]
MaxPrice = Annotated[float | None, typer.Option("--max-price", help="Max price per hour, USD")]


def spot_policy(spot: bool, on_demand: bool, spot_auto: bool) -> str | None:
    """`spot`, `on-demand` or `auto` for the first of --spot, --on-demand, --spot-auto given;
    None when none is."""
    return "spot" if spot else "on-demand" if on_demand else "auto" if spot_auto else None
