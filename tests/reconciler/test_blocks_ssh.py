"""`blocks` on a real SSH host (sshd on 127.0.0.1): two runs share the host at once, and each
job sees only the GPUs of its block. The host's four GPUs are an `nvidia-smi` stand-in on its
sessions' PATH (the host's ~/.bashrc), so detection and the job see what a 2-GPU box shows."""

from __future__ import annotations

import os
from pathlib import Path

from ..helpers import wait_for
from ..remote.conftest import sshd  # noqa: F401 - the fixture
from ..remote.helpers import dstack, fleet_file, ps_json, task_file

FAKE_NVIDIA_SMI = "#!/bin/sh\nfor n in 0 1; do echo 'Tesla T4, 15360'; done\n"


def test_two_runs_share_an_ssh_host_each_seeing_only_its_gpus(sshd, tmp_path):  # noqa: F811
    daemon = sshd()
    fake = tmp_path / "fake-bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (fake / "nvidia-smi").chmod(0o755)
    (daemon.home / ".bashrc").write_text(f'export PATH="{fake}:$PATH"\n')
    folder = tmp_path / "project"
    folder.mkdir()
    # a plan needs an offer for its resources even when a fleet's host takes the run
    # (engine/services/apply.py ensure_applicable): aws's catalog rows give one for a GPU
    (Path(os.environ["DSTACK_HOME"]) / "config.yml").write_text("backends:\n  - type: aws\n")
    # the fleet's blocks apply to its every host: 2 blocks of 1 GPU (and half the CPUs)
    fleet = fleet_file(folder, "onprem", [daemon], extra="blocks: 2\n")
    applied = dstack("apply", "-f", str(fleet), "-y", cwd=folder)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    flag = tmp_path / "release.flag"
    gpus = "  gpu: 1\n"
    holder = task_file(
        folder,
        "holder",
        ['echo "visible=$CUDA_VISIBLE_DEVICES"', f"while [ ! -e {flag} ]; do sleep 0.1; done"],
        extra=gpus,
    )
    second = task_file(folder, "second", ['echo "visible=$CUDA_VISIBLE_DEVICES"'], extra=gpus)
    try:
        started = dstack("apply", "-f", str(holder), "-y", "-d", cwd=folder)
        assert started.returncode == 0, started.stderr
        wait_for(lambda: ps_json()["holder"]["status"] == "running", "holder running")
        listed = dstack("fleet").stdout
        assert "busy (2/2 blocks busy)" not in listed and "(1/2 blocks busy)" in listed, listed

        shown = dstack("apply", "-f", str(second), "--dry-run", cwd=folder).stdout
        assert "instance onprem-0 (1 of 2 blocks)" in shown, shown
        ran = dstack("apply", "-f", str(second), "-y", cwd=folder)  # while holder still runs
        assert ran.returncode == 0, ran.stderr
        assert ps_json()["holder"]["status"] == "running"
        seen = {
            name: dstack("logs", name).stdout.split("visible=", 1)[1].split()[0]
            for name in ("holder", "second")
        }
        assert sorted(seen.values()) == ["0", "1"], seen
    finally:
        flag.touch()
    wait_for(lambda: ps_json()["holder"]["status"] == "done", "holder done")
