"""`dstack offer`: list the offers that match the requirements, cheapest first."""

from __future__ import annotations

import typer

from ..engine.errors import FleetstackError
from .commands import help_of
from .options import Backends, InstanceTypes, MaxPrice, Regions, refuse_not_yet, spot_policy
from .views.offers import show_offers

app = typer.Typer(add_completion=False)


@app.command("offer", help=help_of("offer"))
def offer_command(
    gpu: str | None = typer.Option(None, "--gpu", help="GPU spec, e.g. A100:80GB:8 or 24GB.."),
    cpu: str | None = typer.Option(None, "--cpu", help="CPU count, e.g. 8.. or arm:4.."),
    memory: str | None = typer.Option(None, "--memory", help="Memory, e.g. 32GB.."),
    disk: str | None = typer.Option(None, "--disk", help="Disk size, e.g. 200GB.."),
    backend: Backends = None,
    region: Regions = None,
    instance_type: InstanceTypes = None,
    spot: bool = typer.Option(False, "--spot", help="Spot offers only"),
    on_demand: bool = typer.Option(False, "--on-demand", help="On-demand offers only"),
    spot_auto: bool = typer.Option(False, "--spot-auto", help="Spot and on-demand"),
    max_price: MaxPrice = None,
    max_offers: int = typer.Option(50, "--max-offers", help="Rows to show"),
    group_by: list[str] | None = typer.Option(
        None, "--group-by", help="gpu[,backend[,region]][,count] (repeatable or comma-separated)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
    file: str | None = typer.Option(
        None, "-f", "--file", help="Take requirements from a configuration"
    ),
    profile: str | None = typer.Option(None, "--profile", help="Profile from .dstack/profiles.yml"),
    no_profile: bool = typer.Option(False, "--no-profile", help="Do not apply any profile"),
    fleet: list[str] | None = typer.Option(None, "--fleet", help="Fleet the run may use"),
) -> None:
    refuse_not_yet(fleet=fleet)
    if no_profile and profile:
        raise FleetstackError("--profile and --no-profile: give one of them")
    policies = [
        p
        for p, on in (("--spot", spot), ("--on-demand", on_demand), ("--spot-auto", spot_auto))
        if on
    ]  # noqa: E501
    if len(policies) > 1:
        raise FleetstackError(f"{' and '.join(policies)}: give one spot policy flag at most")
    show_offers(
        gpu=gpu,
        cpu=cpu,
        memory=memory,
        disk=disk,
        backends=backend or None,
        regions=region or None,
        instance_types=instance_type or None,
        spot_policy=spot_policy(spot, on_demand, spot_auto),
        max_price=max_price,
        max_offers=max_offers,
        group_by=",".join(group_by) if group_by else None,
        as_json=as_json,
        file=file,
        profile=profile,
        profiles=not no_profile,
    )
