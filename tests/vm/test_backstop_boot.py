"""The backstop on a booted instance (templates/backstop.py), with its limits shortened: an
instance whose reconciler is gone powers itself off within the deadline; one whose lease is
still within its limit stays up while the timer keeps checking."""

from __future__ import annotations

import time

from fleetstack.engine.runs.jobs import build_job
from fleetstack.templates import backstop
from fleetstack.templates.backstop import Backstop
from fleetstack.templates.cloud_init import render_user_data

from ..helpers import wait_for

BOOT_SLACK = 120.0  # booting to boot-finished takes 3-12 s here; systemd's timers start then


def fleet_user_data(public_key: str, stop: Backstop) -> str:
    """What a fleet's instance boots with (no job of its own), with the backstop `stop`."""
    job = build_job(None, run_name="vm-backstop", run_id="0" * 32, gpus=0)
    return render_user_data(job, ssh_public_keys=[public_key], gpu_vendor=None, backstop=stop)


def checks(instance) -> list[tuple[int, int, int]]:
    """The backstop's recorded checks: (time, idle seconds, seconds since the lease)."""
    path = backstop.CHECKS_PATH
    if not instance.exists(path):
        return []
    lines = instance.read(path).decode().splitlines()
    return [tuple(int(v) for v in line.split()) for line in lines if line.strip()]


def test_an_instance_nobody_looks_after_powers_itself_off_within_the_deadline(boot, ssh_key):
    _, public_key = ssh_key("project")
    stop = Backstop(idle_seconds=4, lease_seconds=6, interval_seconds=2)
    instance = boot(fleet_user_data(public_key, stop))
    booted = time.monotonic()

    wait_for(
        lambda: instance.process.poll() is not None,
        timeout=stop.deadline_seconds + BOOT_SLACK,
        what="the instance to power itself off",
    )

    took = time.monotonic() - booted
    print(f"powered off {took:.1f} s after boot-finished (deadline {stop.deadline_seconds} s)")
    assert took <= stop.deadline_seconds + BOOT_SLACK


def test_a_lease_within_its_limit_keeps_an_idle_instance_up(boot, ssh_key):
    _, public_key = ssh_key("project")
    stop = Backstop(idle_seconds=2, lease_seconds=3600, interval_seconds=2)
    instance = boot(fleet_user_data(public_key, stop))

    # idle past its limit for three checks in a row, with the lease renewed at boot
    instance.wait_for(
        lambda: len([c for c in checks(instance) if c[1] >= stop.idle_seconds]) >= 3,
        timeout=BOOT_SLACK,
        what="three backstop checks past the idle limit",
    )

    assert instance.process.poll() is None
    assert instance.run(["systemctl", "is-active", backstop.TIMER_UNIT]).stdout.strip() == "active"
