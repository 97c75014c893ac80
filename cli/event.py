"""`dstack event`: the status transitions of runs, jobs, fleets and instances, oldest first."""

from __future__ import annotations

import time

import typer

from ..engine.errors import FleetstackError
from ..engine.state import (
    State,
    get_fleet,
    get_instance,
    get_job,
    get_run,
    get_run_by_name,
    open_state,
)
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
    names = _Names(state)
    for event in events:
        print(_line(event, names), flush=True)
    if not watch:
        return
    after = events[-1].id if events else 0
    try:
        while True:
            time.sleep(WATCH_SECONDS)
            for event in list_events(state, run_ids=run_ids, after_id=after):
                print(_line(event, names), flush=True)
                after = event.id
    except KeyboardInterrupt:
        return


def _line(event: EventRecord, names: _Names) -> str:
    stamp = event.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    moved = f"{event.from_status or '-'} -> {event.to_status}"
    reason = f"  ({event.reason})" if event.reason else ""
    who = f"{names.of(event)} ({event.entity_id[:8]})"
    return f"{stamp}  {event.entity:<8} {who:<30} {moved}{reason}"


class _Names:
    """What a user calls the entity of an event: the run's name (a job: `RUN job N`), the
    fleet's, the instance's; looked up once each."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.cache: dict[tuple[str, str], str] = {}

    def of(self, event: EventRecord) -> str:
        key = (event.entity, event.entity_id)
        if key not in self.cache:
            self.cache[key] = self._lookup(event)
        return self.cache[key]

    def _lookup(self, event: EventRecord) -> str:
        if event.entity == "fleet":
            fleet = get_fleet(self.state, event.entity_id)
            return fleet.name if fleet else "?"
        if event.entity == "instance":
            instance = get_instance(self.state, event.entity_id)
            return instance.name if instance else "?"
        run = get_run(self.state, event.run_id) if event.run_id else None
        name = run.name if run else "?"
        if event.entity == "job":
            job = get_job(self.state, event.entity_id)
            return f"{name} job {job.job_num}" if job else f"{name} job"
        return name
