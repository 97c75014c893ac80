"""`dstack catalog update`: download gpuhunt's live catalog into $DSTACK_HOME/catalog."""

from __future__ import annotations

import typer

from ..engine.offers.catalog import update_catalog
from .commands import help_of

app = typer.Typer(name="catalog", help=help_of("catalog"), no_args_is_help=True,
                  add_completion=False)  # fmt: skip


@app.callback()
def catalog_main() -> None:
    # A callback keeps `catalog` a group: typer would fold a lone command into it.
    pass


@app.command(
    "update", help="Download the live catalog; offers use it before the embedded snapshot."
)
def update_command() -> None:
    target, providers = update_catalog()
    print(f"Catalog downloaded to {target} ({', '.join(providers)})")
