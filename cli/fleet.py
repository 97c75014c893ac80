"""`dstack fleet`: list fleets and instances (-w, -v), get one, delete (destroys the stack) or
cancel an update."""

from __future__ import annotations

import typer

from ..engine.errors import FleetstackError
from ..engine.services import fleets
from .commands import help_of
from .views.confirm import confirm
from .views.fleets import show_fleets
from .views.output import console as make_console
from .views.output import print_error

app = typer.Typer(
    name="fleet",
    help=help_of("fleet"),
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
)
_ALL = typer.Option(False, "-a", "--all", help="Also terminated fleets")
_JSON = typer.Option(False, "--json", help="Machine-readable output")
_WATCH = typer.Option(False, "-w", "--watch", help="Refresh every 2 s until Ctrl-C")
_VERBOSE = typer.Option(False, "-v", "--verbose", help="Add the stack, addresses and times")
_ORPHANS = typer.Option(
    False, "--orphans", help="List stacks and tagged instances that no fleet accounts for"
)
_DELETE = typer.Option(False, "--delete", help="With --orphans: destroy and terminate them")
_YES = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation")


@app.callback()
def fleet_main(
    ctx: typer.Context,
    all_fleets: bool = _ALL,
    as_json: bool = _JSON,
    watch: bool = _WATCH,
    verbose: bool = _VERBOSE,
    orphans: bool = _ORPHANS,
    delete: bool = _DELETE,
    yes: bool = _YES,
) -> None:
    if delete and not orphans:
        raise FleetstackError("--delete goes with --orphans: dstack fleet --orphans --delete")
    if orphans:
        orphans_command(as_json=as_json, delete=delete, yes=yes)
    elif ctx.invoked_subcommand is None:
        list_fleets_command(all_fleets=all_fleets, as_json=as_json, watch=watch, verbose=verbose)


@app.command("list")
def list_command(
    all_fleets: bool = _ALL, as_json: bool = _JSON, watch: bool = _WATCH, verbose: bool = _VERBOSE
) -> None:
    """List fleets (the same as `dstack fleet`)."""
    list_fleets_command(all_fleets=all_fleets, as_json=as_json, watch=watch, verbose=verbose)


@app.command("get")
def get_command(
    name: str = typer.Argument(..., help="The fleet's name"),
    as_json: bool = _JSON,
    verbose: bool = _VERBOSE,
) -> None:
    """Show one fleet and its instances."""
    fleet = fleets.get(name)
    show_fleets(lambda: [fleet], as_json=as_json, verbose=verbose, watching=False, one=True)


@app.command("delete")
def delete_command(
    name: str = typer.Argument(..., help="The fleet's name"),
    yes: bool = typer.Option(False, "-y", "--yes", help="Do not ask for confirmation"),
    instance: int | None = typer.Option(
        None, "-i", "--instance", help="Delete only the instance with this number"
    ),
    force: bool = typer.Option(
        False, "--force", help="Stop the runs that use the fleet first, then delete it"
    ),
) -> None:
    """Delete a fleet: destroys its stack (every instance and resource), then forgets it."""
    if instance is not None:
        fleets.delete_instance(name, instance)  # says why the backend cannot, asks nothing
    delete_fleet(name, yes=yes, force=force)


def delete_fleet(name: str, *, yes: bool, force: bool = False) -> None:
    """Confirm, destroy the fleet's stack and forget it (`fleet delete`, `delete -f`)."""
    console = make_console()
    fleets.check_fleet(name)  # an unknown fleet is said before asking anything
    users = fleets.check_deletable(name, force=force)  # and a fleet in use, unless forced
    stopping = f" (stopping {', '.join(r.name for r in users)} first)" if users else ""
    if not confirm(f"Delete the fleet {name} and destroy its stack{stopping}?", yes=yes):
        console.print("Nothing was deleted.")
        raise typer.Exit(1)
    fleet = fleets.delete(name, force=force)
    done = "its stack was destroyed" if fleet.stack_name else "it had no stack"
    console.print(f"Fleet {name} deleted: {done}.")


@app.command("cancel")
def cancel_command(name: str = typer.Argument(..., help="The fleet's name")) -> None:
    """Cancel a stuck update of the fleet's stack and release its lock."""
    fleets.cancel(name)
    make_console().print(f"The update of fleet {name}'s stack was cancelled; its lock is released.")


def orphans_command(*, as_json: bool, delete: bool, yes: bool) -> None:
    """List what no fleet accounts for; with `delete`, confirm and remove it."""
    from ..engine.services import orphans as orphan_service
    from .views.orphans import orphans_json, show_orphans

    report = orphan_service.find()
    if as_json and not delete:
        print(orphans_json(report.orphans))
        return
    show_orphans(report.orphans, report.clouds)
    if not delete or not report.orphans:
        return
    count = len(report.orphans)
    if not confirm(f"Destroy and terminate these {count} orphans?", yes=yes):
        make_console().print("Nothing was deleted.")
        raise typer.Exit(1)
    for removed in orphan_service.delete(report.orphans):
        make_console().print(f"Removed {removed}.")


def list_fleets_command(*, all_fleets: bool, as_json: bool, watch: bool, verbose: bool) -> None:
    """Reap idle fleets (saying so), then list fleets as a table or JSON (or watch them)."""
    if watch and as_json:
        raise FleetstackError("--json cannot be combined with -w/--watch")
    reaping = fleets.reap_idle()
    if reaping.blocked:
        print_error("some fleets are idle past their idle_duration; install the Pulumi CLI so "
                    "`dstack fleet` can destroy them")  # fmt: skip
    for name in reaping.reaped:
        print_error(f"fleet {name} was idle past its idle_duration: its stack was destroyed")
    show_fleets(lambda: fleets.listing(include_finished=all_fleets), as_json=as_json,
                verbose=verbose, watching=watch)  # fmt: skip
