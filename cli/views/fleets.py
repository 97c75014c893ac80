"""Rendering of `dstack fleet`: the fleets table (wider with -v), its JSON form, the watch."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pydantic import JsonValue

from ...engine.fleets.blocks import BLOCKS_BUSY_KEY, total_blocks
from ...engine.fleets.lifecycle import release_at
from ...engine.fleets.release import InstanceRelease, instance_releases
from ...engine.services.fleets import FleetListing
from ...engine.state import InstanceRecord
from .output import console as make_console
from .output import redraw
from .tables import print_table

if TYPE_CHECKING:
    from rich.table import Table


def show_fleets(
    load: Callable[[], Sequence[FleetListing]],
    *,
    as_json: bool,
    verbose: bool,
    watching: bool,
    one: bool = False,
) -> None:
    """Print the fleets `load` gives as JSON (one object with `one`, else a list) or a table,
    or redraw the table every 2 s with `watching` until Ctrl-C."""
    if as_json:
        items = [fleet_json(item) for item in load()]
        print(json.dumps(items[0] if one else items, indent=2))
        return
    console = make_console()
    if not watching:
        console.print(_text(load(), verbose), end="", soft_wrap=True)
        return
    redraw(lambda: _text(load(), verbose))


def fleet_json(item: FleetListing) -> dict[str, JsonValue]:
    """One fleet as `dstack fleet --json` and `dstack fleet get NAME --json` print it."""
    fleet = item.fleet
    idle_since, released_at = release_at(fleet, item.instances)
    each = _releases(item, datetime.now(UTC))
    return {
        "name": fleet.name,
        "status": fleet.status.value,
        "message": fleet.status_message,
        "backend": fleet.backend,
        "stack_name": fleet.stack_name,
        "spec": item.spec.model_dump(mode="json"),
        "created_at": fleet.created_at.isoformat(),
        "idle_since": idle_since.isoformat() if idle_since else None,
        "released_at": released_at.isoformat() if released_at else None,
        "instances": [
            {
                "num": i.instance_num,
                "status": i.status.value,
                "instance_type": i.instance_type,
                "region": i.region,
                "spot": i.spot,
                "price": i.price,
                "hostname": i.hostname,
                "internal_ip": i.internal_ip,
                "ssh_user": i.ssh_user,
                "blocks": total_blocks(i),
                "blocks_busy": _blocks_busy(i),
                "idle_since": _iso(each[i.id].idle_since if i.id in each else idle_since),
                "released_at": _iso(each[i.id].released_at if i.id in each else released_at),
                "kept": each[i.id].kept if i.id in each else "",
            }
            for i in item.instances
        ],
    }


def _text(listed: Sequence[FleetListing], verbose: bool) -> str:
    if not listed:
        return "No fleets. Create one with `dstack apply -f fleet.dstack.yml`.\n"
    console = make_console()
    with console.capture() as captured:
        print_table(console, fleets_table(listed, verbose=verbose))
    return captured.get()


def fleets_table(listed: Sequence[FleetListing], *, verbose: bool = False) -> Table:
    """One row per fleet, its instances below it; -v adds the stack, the instance's address
    and when each was created."""
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    columns = ["FLEET", "INSTANCE", "BACKEND", "REGION", "RESOURCES", "SPOT", "PRICE", "STATUS"]
    if verbose:
        columns += ["STACK", "ADDRESS", "CREATED"]
    for column in columns:
        table.add_column(column, no_wrap=column in ("SPOT", "PRICE"))
    now = datetime.now(UTC)
    for item in listed:
        fleet, spec = item.fleet, item.spec
        idle = _idle_text(*release_at(fleet, item.instances), now, keeps=spec.min_nodes)
        each = _releases(item, now)
        status = fleet.status.value + (f" ({fleet.status_message})" if fleet.status_message else "")
        row = [fleet.name, "", fleet.backend or "", spec.region or "", "", "", "", status]
        created = fleet.created_at.strftime("%Y-%m-%d %H:%M")
        table.add_row(*row, *([fleet.stack_name or "", "", created] if verbose else []))
        for instance in item.instances:
            row = [
                "",
                str(instance.instance_num),
                instance.backend,
                instance.region or "",
                f"{instance.instance_type or ''} {spec.resources}".strip(),
                "yes" if instance.spot else "no",
                f"${instance.price:g}" if instance.price is not None else "",
                instance.status.value
                + _blocks_text(instance)
                + (
                    _each_text(each, instance, now, idle) if instance.status.value == "idle" else ""
                ),
            ]
            address = instance.hostname or instance.internal_ip or ""
            created = instance.created_at.strftime("%Y-%m-%d %H:%M")
            table.add_row(*row, *(["", address, created] if verbose else []))
    return table


def _idle_text(
    since: datetime | None, released_at: datetime | None, now: datetime, *, keeps: int = 0
) -> str:
    """ " 3m (released in 2m)", " 3m (kept: idle_duration off)", " 3m (kept: nodes.min 1)",
    or "" when not idle."""
    if since is None:
        return ""
    idle = _rounded(int((now - since).total_seconds()))
    if released_at is None and keeps:
        return f" {idle} (kept: nodes.min {keeps})"
    if released_at is None:
        return f" {idle} (kept: idle_duration off)"
    left = int((released_at - now).total_seconds())
    return f" {idle} (released in {_rounded(left)})" if left > 0 else f" {idle} (releasing)"


def _releases(item: FleetListing, now: datetime) -> dict[str, InstanceRelease]:
    """Per instance, for a fleet that keeps nodes.min > 0 (released down to it one by one);
    {} for one released whole (release_at says it for every instance)."""
    if item.spec.min_nodes <= 0:
        return {}
    return instance_releases(item.fleet, item.instances, now)


def _each_text(
    each: dict[str, InstanceRelease], instance: InstanceRecord, now: datetime, whole: str
) -> str:
    """The instance's own idle text ("3m (released in 2m)", "3m (kept: nodes.min 1)"), or the
    fleet's when it is released whole."""
    release = each.get(instance.id)
    if release is None:
        return whole
    if release.idle_since is None:
        return ""
    if release.released_at is None:
        idle = _rounded(int((now - release.idle_since).total_seconds()))
        return f" {idle} (kept: {release.kept})"
    return _idle_text(release.idle_since, release.released_at, now)


def _blocks_text(instance: InstanceRecord) -> str:
    """ " (1/4 blocks busy)" for an instance split into blocks, else ""."""
    total = total_blocks(instance)
    return f" ({_blocks_busy(instance)}/{total} blocks busy)" if total > 1 else ""


def _blocks_busy(instance: InstanceRecord) -> int:
    busy = (instance.backend_data or {}).get(BLOCKS_BUSY_KEY)
    return busy if isinstance(busy, int) else 0


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _rounded(seconds: int) -> str:
    """A duration to read at a glance: 45s, 12m, 5h, 3d."""
    seconds = max(0, seconds)
    for unit, size, below in (("s", 1, 120), ("m", 60, 7200), ("h", 3600, 172800)):
        if seconds < below:
            return f"{seconds // size}{unit}"
    return f"{seconds // 86400}d"
