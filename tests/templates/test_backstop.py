"""The backstop an instance installs from its user-data (templates/backstop.py): its script's
decision run for real by bash with the instance's paths moved into a temp dir, and the files
cloud-init writes. tests/vm/test_backstop_boot.py proves it on a booted instance."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from fleetstack.engine.models.jobs import JobSpec
from fleetstack.templates import backstop
from fleetstack.templates.backstop import Backstop, locked_command
from fleetstack.templates.cloud_init import render_user_data
from fleetstack.templates.render import render_static

from ..helpers import wait_for
from .test_shellcheck import shellcheck
from .test_user_data import KEY, cloud_init_schema, load, written_files


class Sandbox:
    """backstop.sh rendered onto paths under `root`, with a `systemctl` that records calls."""

    def __init__(self, root: Path, *, idle_seconds: int, lease_seconds: int) -> None:
        self.root = root
        self.state = root / "state"
        self.state.mkdir(parents=True)
        paths = {
            "state_dir": str(self.state),
            "lease": str(self.state / "lease"),
            "activity": str(self.state / "activity"),
            "job_lock": str(self.state / "job.lock"),
            "checks": str(self.state / "checks"),
            "config": str(root / "backstop.conf"),
        }
        (root / "backstop.conf").write_text(
            f"IDLE_SECONDS={idle_seconds}\nLEASE_SECONDS={lease_seconds}\n"
        )
        self.script = root / "backstop.sh"
        self.script.write_text(render_static("backstop.sh.j2", **paths))
        bin_dir = root / "bin"
        bin_dir.mkdir()
        for tool in ("systemctl", "logger"):
            fake = bin_dir / tool
            fake.write_text(f'#!/bin/sh\necho "{tool} $*" >> "{root}/calls"\n')
            fake.chmod(0o755)
        self.env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}

    def age(self, name: str, seconds: float) -> None:
        """Make state file `name` `seconds` old (created if missing)."""
        path = self.state / name
        path.touch()
        then = time.time() - seconds
        os.utime(path, (then, then))

    def check(self) -> list[str]:
        """Run one check; the commands it ran (systemctl/logger)."""
        done = subprocess.run(
            ["bash", str(self.script)], env=self.env, capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, done.stderr
        calls = self.root / "calls"
        return calls.read_text().splitlines() if calls.exists() else []


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path, idle_seconds=600, lease_seconds=900)


def test_idle_and_unrenewed_past_their_limits_powers_off(sandbox):
    sandbox.age("activity", 601)
    sandbox.age("lease", 901)

    calls = sandbox.check()

    assert calls[-1] == "systemctl poweroff"
    assert any(c.startswith("logger -t fleetstack-backstop") for c in calls)


@pytest.mark.parametrize(
    ("activity_age", "lease_age"),
    [(601, 100), (100, 901), (599, 899)],
    ids=["lease-renewed", "job-recent", "both-within"],
)
def test_a_renewed_lease_or_a_recent_job_keeps_the_instance(sandbox, activity_age, lease_age):
    sandbox.age("activity", activity_age)
    sandbox.age("lease", lease_age)

    assert sandbox.check() == []


def test_a_running_job_holding_the_lock_keeps_it_and_counts_as_activity(sandbox, tmp_path):
    sandbox.age("activity", 5000)
    sandbox.age("lease", 5000)
    script = tmp_path / "job.sh"
    ready = tmp_path / "ready"
    script.write_text(f"touch {ready}\nexec sleep 60\n")
    command = locked_command(str(script)).replace(
        backstop.JOB_LOCK_PATH, str(sandbox.state / "job.lock")
    )
    command = command.replace(backstop.STATE_DIR, str(sandbox.state))
    job = subprocess.Popen(["bash", "-c", command])
    try:
        wait_for(ready.exists, what="the job to hold the lock")

        assert sandbox.check() == []
        assert time.time() - (sandbox.state / "activity").stat().st_mtime < 60
    finally:
        job.kill()
        job.wait()
    sandbox.age("activity", 5000)  # after the job: idle again, and the lock is free
    assert sandbox.check()[-1] == "systemctl poweroff"


def test_each_check_is_recorded(sandbox):
    sandbox.age("activity", 10)
    sandbox.age("lease", 20)

    sandbox.check()

    now, idle, unrenewed = (int(v) for v in (sandbox.state / "checks").read_text().split())
    assert abs(now - time.time()) < 60 and 10 <= idle < 60 and 20 <= unrenewed < 70


def test_the_script_has_no_shellcheck_findings(require_tool, sandbox):
    done = shellcheck(require_tool("shellcheck"), sandbox.script)

    assert done.returncode == 0, done.stdout + done.stderr


def _user_data(make_job, stop: Backstop | None) -> str:
    job: JobSpec = make_job(commands=["echo hi"])
    return render_user_data(job, ssh_public_keys=[KEY], gpu_vendor=None, backstop=stop)


def test_the_user_data_installs_and_starts_the_timer_before_the_setup(make_job):
    document = load(_user_data(make_job, Backstop(idle_seconds=900)))

    files = written_files(document)
    assert files[backstop.CONFIG_PATH] == b"IDLE_SECONDS=900\nLEASE_SECONDS=900\n"
    assert b"OnUnitActiveSec=60s" in files[f"/etc/systemd/system/{backstop.TIMER_UNIT}"]
    runcmd = document["runcmd"]
    enable = runcmd.index(["systemctl", "enable", "--now", backstop.TIMER_UNIT])
    assert runcmd.index(["systemctl", "daemon-reload"]) < enable
    assert enable < runcmd.index(["bash", "/opt/fleetstack/setup.sh"])
    assert ["sh", "-c", backstop.START_LEASE_COMMAND] in runcmd


def test_without_a_backstop_nothing_of_it_is_written(make_job):
    document = load(_user_data(make_job, None))

    assert backstop.SCRIPT_PATH not in written_files(document)
    assert not any(backstop.TIMER_UNIT in " ".join(c) for c in document["runcmd"])


def test_the_user_data_with_a_backstop_passes_cloud_init_schema(require_tool, make_job, tmp_path):
    cloud_init_schema(require_tool("cloud-init"), tmp_path, _user_data(make_job, Backstop(60)))


def test_its_units_pass_systemd_analyze_verify(require_tool, make_job, tmp_path):
    files = written_files(load(_user_data(make_job, Backstop(60))))
    units = []
    for unit in (backstop.SERVICE_UNIT, backstop.TIMER_UNIT):
        path = tmp_path / unit
        path.write_bytes(files[f"/etc/systemd/system/{unit}"])
        units.append(str(path))
    done = subprocess.run(
        [require_tool("systemd-analyze"), "verify", *units],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert "fleetstack-backstop" not in done.stderr, done.stderr


def test_its_deadline_is_the_longer_limit_plus_one_interval():
    assert Backstop.for_idle_duration(300) == Backstop(idle_seconds=600)
    assert Backstop(idle_seconds=600).deadline_seconds == 900 + 60
    assert Backstop.for_idle_duration(None) is None  # idle_duration: off


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="interval_seconds"):
        Backstop(idle_seconds=60, interval_seconds=0).write_files()
