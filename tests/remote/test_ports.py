"""A task's ports forwarded over SSH to 127.0.0.1 while attached, proven by HTTP requests
through the forward (the job listens on another port than the local one)."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest

from ..helpers import WAIT, wait_for
from .conftest import free_port
from .helpers import apply_fleet, dstack, ps_json, start_dstack, task_file


def _server_task(folder: Path, name: str, remote: int) -> Path:
    (folder / "index.html").write_text(f"served by {name}\n")
    return task_file(
        folder, name, [f"exec python3 -m http.server {remote} --bind 127.0.0.1"],
        extra=f"ports:\n  - {remote}\n",
    )  # fmt: skip


def _get(port: int) -> str | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2) as r:
            return r.read().decode()
    except OSError:
        return None


def _stop(name: str, process) -> None:
    assert dstack("stop", name, "-y").returncode == 0
    process.communicate(timeout=WAIT)


@pytest.fixture
def folder(sshd, tmp_path) -> Path:
    """A project folder with an SSH fleet `onprem` of one host applied."""
    project = tmp_path / "project"
    project.mkdir()
    apply_fleet(project, [sshd()])
    return project


def test_a_port_is_forwarded_while_apply_stays_attached(folder):
    local, remote = free_port(), free_port()
    task = _server_task(folder, "web", remote)
    attached = start_dstack("apply", "-f", str(task), "-y", "-p", f"{local}:{remote}", cwd=folder)
    try:
        assert wait_for(lambda: _get(local), "HTTP through the forward", process=attached) == (
            "served by web\n"
        )
    finally:
        _stop("web", attached)
    out, err = attached.communicate()
    assert f"Port (while attached): http://127.0.0.1:{local} -> port {remote} of the job" in out
    assert f"Forwarding http://127.0.0.1:{local} -> port {remote} of the job" in out + err
    assert _get(local) is None  # the forward ended with the attached CLI


def test_a_local_port_in_use_is_a_clear_error_naming_it(folder):
    remote = free_port()
    task = _server_task(folder, "busy", remote)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        local = taken.getsockname()[1]
        proc = dstack("apply", "-f", str(task), "-y", "-p", f"{local}:{remote}", cwd=folder)
    assert proc.returncode == 1
    assert f"local port {local} (for port {remote} of the job) is in use" in proc.stderr
    assert "busy" not in ps_json()


def test_apply_detached_then_attach_forwards_the_port_again(folder):
    remote = free_port()
    task = _server_task(folder, "later", remote)
    assert dstack("apply", "-f", str(task), "-y", "-d", cwd=folder).returncode == 0
    local = free_port()
    attached = start_dstack("attach", "later", "-p", f"{local}:{remote}")
    try:
        assert wait_for(lambda: _get(local), "HTTP through attach", process=attached) == (
            "served by later\n"
        )
    finally:
        _stop("later", attached)
    assert attached.returncode == 0
