"""Rendering of `dstack offer`: the offers table, its groups, its JSON form."""

from __future__ import annotations

import json
from collections.abc import Sequence

from gpuhunt import KNOWN_ACCELERATORS
from pydantic import JsonValue, ValidationError
from rich.console import Console
from rich.table import Table

from ...engine.config import load_configuration
from ...engine.errors import FleetstackError
from ...engine.models.offers import Offer, Requirements, format_price
from ...engine.models.resources import ResourcesSpec
from ...engine.offers.match import check_backends, find_offers
from .output import console as make_console
from .tables import print_table, render_offers


def show_offers(
    *,
    gpu: str | None,
    cpu: str | None,
    memory: str | None,
    disk: str | None,
    backends: list[str] | None,
    regions: list[str] | None,
    instance_types: list[str] | None,
    spot_policy: str | None,
    max_price: float | None,
    max_offers: int,
    group_by: str | None,
    as_json: bool,
    file: str | None,
) -> None:
    """`dstack offer`: the matching offers as a table, grouped, or JSON."""
    if max_offers < 0:
        raise FleetstackError(f"--max-offers {max_offers}: give 0 or more rows to show")
    if max_price is not None and max_price <= 0:
        raise FleetstackError(f"--max-price {max_price:g}: give a price above 0 (USD per hour)")
    check_backends(backends, "-b")
    req = _requirements(file, gpu=gpu, cpu=cpu, memory=memory, disk=disk)
    if backends is not None:
        req.backends = backends
    if regions is not None:
        req.regions = regions
    if instance_types is not None:
        req.instance_types = instance_types
    if spot_policy is not None:
        req.spot_policy = spot_policy
    if max_price is not None:
        req.max_price = max_price
    if req.spot_policy is None:  # dstack offer plans a task: on-demand unless told otherwise
        req.spot_policy = "on-demand"
    result = find_offers(req)
    if not result.offers:
        _check_gpu_names(req.resources)
    shown = result.offers[:max_offers]
    if as_json:
        print(
            json.dumps(
                {
                    "requirements": _requirements_json(req),
                    "offers": [o.to_json(req.nodes) for o in shown],
                    "total_offers": result.total,
                },
                indent=2,
            )
        )
        return
    console = make_console()
    res = req.resources
    console.print(f"[dim]{result.catalog_label}[/dim]")
    console.print(f"Resources: {res.pretty()}   Spot policy: {req.spot_policy}")
    console.print()
    if not result.offers:
        console.print(f"[yellow]{result.empty_reason}[/yellow]")
        return
    if group_by:
        _render_groups(console, result.offers, group_by, req.nodes)
        return
    render_offers(console, shown, nodes=req.nodes)
    if result.total > len(shown):
        console.print(f"\nShown {len(shown)} of {result.total} offers (--max-offers to see more)")


def _requirements(file: str | None, **flags: str | None) -> Requirements:
    raw: dict[str, JsonValue] = {k: v for k, v in flags.items() if v is not None}
    if file:
        loaded = load_configuration(file)
        req = Requirements.from_configuration(loaded.configuration)
        if raw:  # flags replace the file's values for the same resource
            in_file = loaded.raw.get("resources") if isinstance(loaded.raw, dict) else None
            req.resources = _resources({**(in_file if isinstance(in_file, dict) else {}), **raw})
        return req
    if "cpu" not in raw and "gpu" not in raw and "memory" not in raw:
        raw.setdefault("cpu", "2..")
    return Requirements(resources=_resources(raw), spot_policy=None)


def _resources(raw: dict[str, JsonValue]) -> ResourcesSpec:
    """ResourcesSpec of the flags; a bad value is a one-line error naming the flag."""
    try:
        return ResourcesSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        flag = str(first["loc"][0]) if first["loc"] else "gpu"
        message = str(first["msg"]).removeprefix("Value error, ").removeprefix(f"{flag}: ")
        value = raw.get(flag)
        shown = f" {value}" if isinstance(value, str) else ""
        raise FleetstackError(f"--{flag}{shown}: {message}") from None


def _check_gpu_names(resources: ResourcesSpec) -> None:
    """No offer and a GPU name that gpuhunt does not know: most likely a typo, say so."""
    known = {a.name.lower() for a in KNOWN_ACCELERATORS}
    for name in resources.gpu.name or []:
        if name.lower() not in known:
            raise FleetstackError(
                f"--gpu: unknown GPU name {name!r} (no offer has it and gpuhunt does not know it); "
                "write e.g. T4, L4, A10G, L40S, A100, H100, H200, MI300X, or a size like 24GB.."
            )


def _requirements_json(req: Requirements) -> dict[str, object]:
    return {
        "resources": req.resources.normalized(),
        "backends": req.backends,
        "regions": req.regions,
        "instance_types": req.instance_types,
        "spot_policy": req.spot_policy,
        "max_price": req.max_price,
        "nodes": req.nodes,
    }


def _render_groups(console: Console, offers: Sequence[Offer], group_by: str, nodes: int) -> None:
    keys = [k.strip() for k in group_by.split(",") if k.strip()]
    bad = [k for k in keys if k not in ("gpu", "backend", "region")]
    if bad or "gpu" not in keys:
        raise FleetstackError(f"--group-by {group_by}: use gpu, optionally with backend and region")
    groups: dict[tuple[str, ...], list[Offer]] = {}
    for o in offers:
        gpu = f"{o.gpu_count}x{o.gpu_name} ({o.gpu_memory_gb:g}GB)" if o.gpu_count else "-"
        key = tuple({"gpu": gpu, "backend": o.backend, "region": o.region}[k] for k in keys)
        groups.setdefault(key, []).append(o)
    table = Table(box=None, header_style="bold")
    table.add_column("#")
    for k in keys:
        table.add_column(k.upper())
    table.add_column("SPOT")
    table.add_column("OFFERS")
    table.add_column("PRICE")
    for i, (key, items) in enumerate(sorted(groups.items(), key=lambda kv: kv[1][0].price), 1):
        lo, hi = min(o.price for o in items) * nodes, max(o.price for o in items) * nodes
        spots = {o.spot for o in items}
        spot = "yes" if spots == {True} else "no" if spots == {False} else "auto"
        price = format_price(lo) if lo == hi else f"{format_price(lo)}..{format_price(hi)}"
        table.add_row(str(i), *key, spot, str(len(items)), price)
    print_table(console, table)
