"""The `dstack` application: registers one module per command.

Command modules import only typer at module level; the engine (pydantic, gpuhunt,
SQLAlchemy, Pulumi) is imported inside the command functions so `dstack --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from . import apply, catalog, delete, fleet, logs, offer, ps, schema, stop, validate

app = typer.Typer(
    name="dstack",
    help="Run AI workloads on cloud GPUs from .dstack.yml files. Every fleet is a Pulumi stack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

for module in (apply, offer, catalog, ps, logs, stop, delete, fleet, validate, schema):
    module.register(app)


def run() -> None:
    """Console-script entry point: expected failures print one or two red lines, exit 1."""
    from ..engine.errors import FleetstackError
    from ..stacks.errors import StackError

    try:
        app()
    except (FleetstackError, StackError) as exc:
        from .views.output import print_error

        print_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    run()
