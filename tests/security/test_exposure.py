"""A local container's ports are published on 127.0.0.1 unless the port names an address
(`"0.0.0.0:8080:8080"`), and the plan says where each port can be reached."""

from __future__ import annotations

from fleetstack.engine.config import load_configuration
from fleetstack.engine.runs.jobs import build_job
from fleetstack.templates.render import render_job_script

from .conftest import dstack

CONFIG = 'type: task\nimage: python:3.11-slim\nports: [8080, "0.0.0.0:9000:90"]\ncommands: [echo]\n'


def _ports_line(stdout: str) -> str:
    (line,) = [" ".join(x.split()) for x in stdout.splitlines() if x.strip().startswith("Ports")]
    return line


def test_the_plan_says_where_each_port_is_reachable(tmp_path):
    path = tmp_path / "ports.dstack.yml"
    path.write_text(CONFIG)
    local = dstack("apply", "-f", str(path), "--dry-run", "-b", "local", cwd=tmp_path)
    assert local.returncode == 0, local.stderr
    assert _ports_line(local.stdout) == (
        "Ports 8080 -> 127.0.0.1:8080 (this machine only), 90 -> 0.0.0.0:9000 (every "
        "interface: other machines too)"
    )
    cloud = dstack("apply", "-f", str(path), "--dry-run", "-b", "aws", cwd=tmp_path)
    assert cloud.returncode == 0, cloud.stderr
    assert _ports_line(cloud.stdout) == (
        "Ports 8080, 90 on the instance's address, open to 0.0.0.0/0 (the stack's firewall)"
    )


def test_the_job_script_publishes_on_the_address_planned(tmp_path):
    path = tmp_path / "ports.dstack.yml"
    path.write_text(CONFIG)
    configuration = load_configuration(path, profiles=False).configuration
    job = build_job(configuration, run_name="p", run_id="r1", gpus=0)  # type: ignore[arg-type]
    script = render_job_script(job)
    assert "args+=(-p 127.0.0.1:8080:8080)" in script
    assert "args+=(-p 0.0.0.0:9000:90)" in script


def test_an_address_that_is_not_an_ip_is_refused(tmp_path):
    path = tmp_path / "bad.dstack.yml"
    path.write_text('type: task\nports: ["myhost:8080:8080"]\ncommands: [echo]\n')
    proc = dstack("validate", str(path))
    assert proc.returncode == 1
    (line,) = proc.stdout.splitlines() + proc.stderr.splitlines()
    assert line.startswith(f"{path}:2: ports[0]: ")
    assert "'myhost' is not an IP address: write e.g. 0.0.0.0:8080:8080" in line
