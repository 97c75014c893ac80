"""The instance setup script run with fake apt-get/systemctl/docker/nvidia-ctk.

Only the branches that write nothing outside the fakes run here: the NVIDIA repository set-up
(keyring, apt source) is covered by shellcheck and the user-data tests.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fleetstack.templates.render import render_static

HOST_TOOLS = ("bash", "cat", "env")


def fake(folder: Path, name: str, log: Path, exit_code: int = 0) -> None:
    script = folder / name
    script.write_text(
        f"#!/usr/bin/env bash\nprintf '%s\\n' \"{name} $*\" >>'{log}'\nexit {exit_code}\n"
    )
    script.chmod(0o755)


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.bin = tmp_path / "bin"
        self.bin.mkdir()
        self.log = tmp_path / "calls.log"
        for name in HOST_TOOLS:
            found = shutil.which(name)
            assert found
            (self.bin / name).symlink_to(found)

    def fake(self, *names: str, exit_code: int = 0) -> None:
        for name in names:
            fake(self.bin, name, self.log, exit_code)

    def run(self, *, nvidia: bool) -> subprocess.CompletedProcess[str]:
        script = self.tmp_path / "setup.sh"
        script.write_text(render_static("setup_instance.sh.j2", nvidia=nvidia))
        return subprocess.run(
            ["bash", str(script)],
            env={"PATH": str(self.bin), "HOME": str(self.tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


@pytest.fixture
def setup(tmp_path) -> Setup:
    return Setup(tmp_path)


def test_docker_is_installed_and_started_when_missing(setup):
    setup.fake("apt-get", "systemctl")

    result = setup.run(nvidia=False)

    assert result.returncode == 0, result.stderr
    apt = "apt-get -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3"
    assert setup.calls() == [
        f"{apt} update -q",
        f"{apt} install -y -q --no-install-recommends docker.io",
        "systemctl enable --now docker",
    ]
    assert "fleetstack-setup: installing docker (docker.io)" in result.stderr
    assert "fleetstack-setup: docker is ready" in result.stderr


def test_an_installed_docker_is_only_started(setup):
    setup.fake("apt-get", "systemctl", "docker")

    result = setup.run(nvidia=False)

    assert result.returncode == 0, result.stderr
    assert setup.calls() == ["systemctl enable --now docker"]


def test_an_installed_nvidia_toolkit_is_configured_for_docker(setup):
    setup.fake("apt-get", "systemctl", "docker", "nvidia-ctk")

    result = setup.run(nvidia=True)

    assert result.returncode == 0, result.stderr
    assert setup.calls() == [
        "systemctl enable --now docker",
        "nvidia-ctk runtime configure --runtime=docker",
        "systemctl restart docker",
    ]


def test_without_apt_get_the_setup_says_what_to_install(setup):
    setup.fake("systemctl")

    result = setup.run(nvidia=False)

    assert result.returncode != 0
    assert "fleetstack-setup: no apt-get on this image: install docker.io yourself" in result.stderr
    assert setup.calls() == []


def test_a_failing_install_stops_the_setup(setup):
    setup.fake("systemctl")
    setup.fake("apt-get", exit_code=100)

    result = setup.run(nvidia=False)

    assert result.returncode == 100
    assert not any(call.startswith("systemctl") for call in setup.calls())
