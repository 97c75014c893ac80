"""Fixtures of the reconciler tests: the state DB in DSTACK_HOME, submitting a run in
process, a reconciler with an injectable clock and a small machine."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fleetstack.engine.backends.local.host import HostResources
from fleetstack.engine.config import load_configuration
from fleetstack.engine.fleets.stacks import choose_offer
from fleetstack.engine.models.offers import Offer, OfferList, Requirements
from fleetstack.engine.models.plan import Plan
from fleetstack.engine.reconciler.core import Reconciler
from fleetstack.engine.runs.submit import submit_run
from fleetstack.engine.state import RunRecord, State, close_all, open_state
from fleetstack.engine.state.models import utcnow

# A machine of 2 CPUs and 8 GB: what placement sees, whatever this machine has.
SMALL_HOST = HostResources(cpus=2, cpu_arch="x86", memory_gb=8.0, disk_gb=100.0)


@pytest.fixture
def state(database_url) -> Iterator[State]:
    """The state DB on SQLite and on PostgreSQL; the CLI and the supervisors use it too."""
    db = open_state(database_url)
    yield db
    close_all()


class Clock:
    """Real time plus an offset the test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)

    def at(self, moment: datetime) -> None:
        """Read `moment` now: a time the engine recorded, not the test's own elapsed time
        (a slow machine spends seconds between that record and the next pass)."""
        self.offset = moment - utcnow()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def reconciler(state, clock) -> Reconciler:
    return Reconciler(state, clock=clock, host=SMALL_HOST)


@pytest.fixture
def submit(tmp_path, state) -> Callable[..., RunRecord]:
    """submit(yaml) -> the run submitted with the local offer, as `dstack apply` would."""
    count = [0]

    def make(text: str) -> RunRecord:
        count[0] += 1
        path = tmp_path / f"run{count[0]}.dstack.yml"
        path.write_text(text)
        conf = load_configuration(path, run_args=[]).configuration
        offers = [_local_offer()]
        plan = Plan(
            configuration_path=str(path),
            configuration=conf,
            requirements=Requirements.from_configuration(conf),
            offers=OfferList(offers=offers, total=1),
            run_name=conf.name or "x",
            chosen_offer=choose_offer(offers).offer,
        )
        return submit_run(plan, state=state)

    return make


def _local_offer() -> Offer:
    return Offer(
        backend="local",
        region="local",
        instance_type="local",
        cpus=SMALL_HOST.cpus,
        cpu_arch="x86",
        memory_gb=SMALL_HOST.memory_gb,
        disk_gb=100.0,
        gpu_vendor=None,
        gpu_name=None,
        gpu_count=0,
        gpu_memory_gb=None,
        spot=False,
        price=0.0,
    )


def task(name: str, command: str, *, cpu: int = 1, extra: str = "") -> str:
    """A task configuration asking for `cpu` CPUs and 1 GB."""
    return (
        f"type: task\nname: {name}\ncommands: [{command!r}]\n"
        f"resources: {{cpu: {cpu}.., memory: {1 if cpu else 0}GB..}}\n{extra}"
    )


def flag_file(tmp_path: Path, name: str) -> Path:
    return tmp_path / f"{name}.flag"
