"""The requirement options that `dstack apply` and `dstack offer` share, and the spot policy
their spot flags give (each command words the spot flags' help for itself)."""

from __future__ import annotations

from typing import Annotated

import typer

from ..engine.errors import FleetstackError

Backends = Annotated[list[str] | None, typer.Option("-b", "--backend", help="Backend (repeatable)")]
Regions = Annotated[list[str] | None, typer.Option("-r", "--region", help="Region (repeatable)")]
InstanceTypes = Annotated[list[str] | None, typer.Option("--instance-type", help="Instance type")]
MaxPrice = Annotated[float | None, typer.Option("--max-price", help="Max price per hour, USD")]


def spot_policy(spot: bool, on_demand: bool, spot_auto: bool) -> str | None:
    """`spot`, `on-demand` or `auto` for the first of --spot, --on-demand, --spot-auto given;
    None when none is."""
    return "spot" if spot else "on-demand" if on_demand else "auto" if spot_auto else None


# flags parsed now whose behaviour comes later: what to do instead
_NOT_YET = {
    "-R/--reuse": "running only on an existing idle instance comes with the reconciler; without "
    "-R, apply reuses an idle instance or creates what the plan shows",
    "--fleet": "choosing the fleets a run may use comes with the reconciler; leave --fleet "
    "out: the plan takes the cheapest matching offer or idle instance",
}


def refuse_not_yet(**given: object) -> None:
    """FleetstackError for the first flag of a later issue given (keys: reuse, fleet)."""
    flags = {"reuse": "-R/--reuse", "fleet": "--fleet"}
    for key, value in given.items():
        if value:
            flag = flags[key]
            raise FleetstackError(f"{flag} is not supported yet: {_NOT_YET[flag]}")
