"""`dstack fleet --orphans`: what no fleet accounts for, as a table or JSON."""

from __future__ import annotations

import json

from ...engine.fleets.orphans import Orphan
from .output import console as make_console
from .tables import print_table


def orphans_json(orphans: list[Orphan]) -> str:
    return json.dumps(
        [
            {
                "kind": o.kind,
                "name": o.name,
                "cloud": o.cloud,
                "fleet": o.fleet,
                "region": o.region or None,
                "why": o.why,
            }
            for o in orphans
        ],
        indent=2,
    )


def show_orphans(orphans: list[Orphan], clouds: list[str]) -> None:
    from rich.table import Table

    console = make_console()
    if not orphans:
        console.print(f"No orphans: every stack and tagged instance on {', '.join(clouds)} "
                      "belongs to a fleet.")  # fmt: skip
        return
    table = Table(box=None)
    for column in ("KIND", "NAME", "CLOUD", "REGION", "FLEET", "WHY"):
        table.add_column(column, no_wrap=column != "WHY")
    for o in orphans:
        table.add_row(o.kind, o.name, o.cloud, o.region or "-", o.fleet or "-", o.why)
    print_table(console, table)
