"""How `blocks` splits one instance (engine/fleets/blocks.py): N equal shares of GPUs, CPUs
and memory, `auto` one per GPU, an uneven split left whole; the GPUs a job's blocks hold."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fleetstack.engine.fleets.blocks import Request, blocks_for, total_blocks
from fleetstack.engine.models.statuses import InstanceStatus
from fleetstack.engine.state import InstanceRecord


def _host(blocks: int | str | None, *, gpus: int = 8, cpus: int = 32) -> InstanceRecord:
    """An SSH host as register_ssh_fleet records it (resources detected, blocks as given)."""
    now = datetime.now(UTC)
    resources = {
        "cpus": cpus,
        "cpu_arch": "x86",
        "memory_gb": 256.0,
        "disk_gb": 500.0,
        "gpus": [{"vendor": "nvidia", "name": "A100", "memory_gb": 80.0}] * gpus,
    }
    return InstanceRecord(
        id="i", fleet_id="f", name="box-0", instance_num=0, backend="ssh", region="ssh",
        instance_type="box", spot=False, status=InstanceStatus.IDLE, price=0.0,
        resources=resources, backend_data={"blocks": blocks}, hostname="box",
        internal_ip=None, ssh_user="root", ssh_port=22, busy_job_id=None,
        termination_reason=None, created_at=now, last_processed_at=now, idle_since=now,
        terminated_at=None,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("blocks", "gpus", "cpus", "total"),
    [
        (None, 8, 32, 1),  # not split: one job at a time
        (4, 8, 32, 4),
        ("auto", 8, 32, 8),  # one block per GPU
        ("auto", 0, 32, 1),  # no GPU: one block
        (3, 8, 32, 1),  # 8 GPUs do not split in 3: left whole
        (4, 0, 16, 4),  # CPUs only
        (4, 0, 2, 1),  # fewer CPUs than blocks
    ],
)
def test_how_many_blocks_an_instance_has(blocks, gpus, cpus, total):
    assert total_blocks(_host(blocks, gpus=gpus, cpus=cpus)) == total


def test_a_job_takes_the_fewest_blocks_that_hold_its_minimums():
    host = _host(4)  # each block: 2 GPUs, 8 CPUs, 64 GB
    assert blocks_for(host, Request(cpus=2, memory_gb=8, gpus=0)) == 1
    assert blocks_for(host, Request(cpus=2, memory_gb=8, gpus=3)) == 2
    assert blocks_for(host, Request(cpus=20, memory_gb=8, gpus=1)) == 3  # CPUs decide
    assert blocks_for(host, Request(cpus=2, memory_gb=200, gpus=1)) == 4
    assert blocks_for(host, Request(cpus=2, memory_gb=8, gpus=9)) is None
