"""`dstack event`: the status transitions of runs, jobs, fleets and instances, oldest first."""

from __future__ import annotations

import time

import typer

from ..engine.errors import FleetstackError
from ..engine.state import get_run_by_name, open_state
from ..engine.state.events import list_events
from ..engine.state.records import EventRecord
from .commands import help_of

app = typer.Typer(add_completion=False)
WATCH_SECONDS = 1.0


@app.command("event", help=help_of("event"))
def event_command(
    run: str | None = typer.Option(None, "--run", help="Only this run and its jobs"),
    watch: bool = typer.Option(False, "-w", "--watch", help="Keep printing new events"),
    last: int = typer.Option(100, "-n", "--last", help="Show the last N events"),
) -> None:
    state = open_state()
    run_ids = None
    if run is not None:
        record = get_run_by_name(state, run)
        if record is None:
            raise FleetstackError(f"run {run} not found; `dstack ps -a` lists runs")
        run_ids = [record.id]
    events = list_events(state, run_ids=run_ids, limit=last)
    for event in events:
        print(_line(event), flush=True)
    if not watch:
        return
    after = events[-1].id if events else 0
    try:
        while True:
            time.sleep(WATCH_SECONDS)
            for event in list_events(state, run_ids=run_ids, after_id=after):
                print(_line(event), flush=True)
                after = event.id
    except KeyboardInterrupt:
        return


def _line(event: EventRecord) -> str:
    stamp = event.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    moved = f"{event.from_status or '-'} -> {event.to_status}"
    reason = f"  ({event.reason})" if event.reason else ""
    return f"{stamp}  {event.entity:<8} {event.entity_id[:8]}  {moved}{reason}"
