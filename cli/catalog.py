"""`dstack catalog update`: download gpuhunt's live catalog into $DSTACK_HOME/catalog."""

from __future__ import annotations

import typer

catalog_app = typer.Typer(
    help="The offers catalog (embedded snapshot, or downloaded live).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(catalog_app, name="catalog")


@catalog_app.command(
    "update", help="Download the live catalog; offers use it before the embedded snapshot."
)
def update_command() -> None:
    from ..engine.offers.catalog import update_catalog

    target, providers = update_catalog()
    print(f"Catalog downloaded to {target} ({', '.join(providers)})")
