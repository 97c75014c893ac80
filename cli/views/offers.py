"""Rendering of `dstack offer`: the offers table, its groups, its JSON form."""

from __future__ import annotations

import json
from collections.abc import Sequence

from gpuhunt import KNOWN_ACCELERATORS
from pydantic import JsonValue, ValidationError
from rich.console import Console
from rich.table import Table

from ...engine.config import find_profile, load_configuration
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
    profile: str | None = None,
    profiles: bool = True,
) -> None:
    """`dstack offer`: the matching offers as a table, grouped, or JSON. Profiles are read
    as apply reads them: the one named `profile`, else the default one, none if not
    `profiles`; flags win over the profile, the configuration's own values over both."""
    if max_offers < 0:
        raise FleetstackError(f"--max-offers {max_offers}: give 0 or more rows to show")
    if max_price is not None and max_price <= 0:
        raise FleetstackError(f"--max-price {max_price:g}: give a price above 0 (USD per hour)")
    check_backends(backends, "-b")
    keys = _group_keys(group_by) if group_by else []
    req = _requirements(file, profile, profiles, gpu=gpu, cpu=cpu, memory=memory, disk=disk)
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
    if keys:
        _render_groups(console, result.offers, keys, req.nodes)
        return
    render_offers(console, shown, nodes=req.nodes)
    if result.total > len(shown):
        console.print(f"\nShown {len(shown)} of {result.total} offers (--max-offers to see more)")


def _requirements(
    file: str | None, profile: str | None, profiles: bool, **flags: str | None
) -> Requirements:
    raw: dict[str, JsonValue] = {k: v for k, v in flags.items() if v is not None}
    if file:
        loaded = load_configuration(file, profile=profile, profiles=profiles)
        req = Requirements.from_configuration(loaded.configuration)
        if raw:  # flags replace the file's values for the same resource
            in_file = loaded.raw.get("resources") if isinstance(loaded.raw, dict) else None
            req.resources = _resources({**(in_file if isinstance(in_file, dict) else {}), **raw})
        return req
    if "cpu" not in raw and "gpu" not in raw and "memory" not in raw:
        raw.setdefault("cpu", "2..")
    req = Requirements(resources=_resources(raw), spot_policy=None)
    loaded_profile = find_profile(profile) if profiles else None
    if loaded_profile is not None:
        chosen = loaded_profile.profile
        req.backends, req.regions = chosen.backends, chosen.regions
        req.instance_types, req.max_price = chosen.instance_types, chosen.max_price
        req.spot_policy = chosen.spot_policy
    return req


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


_GROUP_KEYS = ("gpu", "backend", "region", "count")


def _group_keys(group_by: str) -> list[str]:
    """--group-by's keys in the table's column order; gpu is required, region needs backend."""
    keys = [k.strip() for k in group_by.split(",") if k.strip()]
    bad = [k for k in keys if k not in _GROUP_KEYS]
    if bad:
        raise FleetstackError(f"--group-by {bad[0]}: use gpu, backend, region or count")
    if "gpu" not in keys:
        raise FleetstackError(f"--group-by {group_by}: include gpu, e.g. --group-by gpu,{group_by}")
    if "region" in keys and "backend" not in keys:
        raise FleetstackError(
            f"--group-by {group_by}: region needs backend too, e.g. --group-by gpu,backend,region"
        )
    return [k for k in _GROUP_KEYS if k in keys]


def _render_groups(console: Console, offers: Sequence[Offer], keys: list[str], nodes: int) -> None:
    """One row per GPU (name and memory), split by backend, region and GPU count when asked;
    COUNT lists the GPU counts a row's offers have."""
    groups: dict[tuple[str, ...], list[Offer]] = {}
    for o in offers:
        gpu = f"{o.gpu_name} ({o.gpu_memory_gb:g}GB)" if o.gpu_count else "-"
        fields = {"gpu": gpu, "backend": o.backend, "region": o.region, "count": o.gpu_count}
        key = tuple(str(fields[k]) for k in keys)
        groups.setdefault(key, []).append(o)
    columns = [k for k in keys if k != "count"]
    table = Table(box=None, header_style="bold")
    table.add_column("#")
    for k in columns:
        table.add_column(k.upper())
    table.add_column("COUNT")
    table.add_column("SPOT", no_wrap=True)
    table.add_column("OFFERS")
    table.add_column("PRICE", no_wrap=True)
    for i, (key, items) in enumerate(sorted(groups.items(), key=lambda kv: kv[1][0].price), 1):
        lo, hi = min(o.price for o in items) * nodes, max(o.price for o in items) * nodes
        spots = {o.spot for o in items}
        spot = "yes" if spots == {True} else "no" if spots == {False} else "auto"
        price = format_price(lo) if lo == hi else f"{format_price(lo)}..{format_price(hi)}"
        counts = ",".join(str(c) for c in sorted({o.gpu_count for o in items}))
        shown = [v for k, v in zip(keys, key, strict=True) if k != "count"]
        table.add_row(str(i), *shown, counts, spot, str(len(items)), price)
    print_table(console, table)
