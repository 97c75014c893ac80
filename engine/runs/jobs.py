"""A job on the local backend: its environment and its JobSpec, from the configuration.

The job sees what a dstack job sees: DSTACK_RUN_NAME, DSTACK_RUN_ID, DSTACK_NODE_RANK=0,
DSTACK_NODES_NUM=1, DSTACK_MASTER_NODE_IP and DSTACK_NODES_IPS (127.0.0.1 here),
DSTACK_GPUS_NUM, DSTACK_GPUS_PER_NODE and DSTACK_WORKING_DIR, plus the configuration's
`env` (with ${{ run.args }} already interpolated). The DSTACK_* values describe the run
truthfully, so they win over a configuration that sets the same names.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...templates.jobspec import JobSpec

LOCAL_IP = "127.0.0.1"
CONTAINER_WORKDIR = "/workflow"  # where the job script mounts the project in a container
DEFAULT_STOP_GRACE_SECONDS = 300  # dstack's stop_duration default (5m)
# Variables of ours that must not leak from the CLI's environment into the job.
_NOT_INHERITED = ("FLEETSTACK_LOG_FILE",)


def job_template(configuration: Any, *, run_name: str, run_id: str, gpus: int) -> dict[str, Any]:
    """What every submission of this run's job runs, as JSON (stored in the run's run_spec).

    DSTACK_WORKING_DIR is added per submission by `job_spec` (each has its own copy).
    """
    commands = list(getattr(configuration, "setup", None) or []) + list(configuration.commands)
    ports = [
        (p.local_port or p.container_port, p.container_port)
        for p in getattr(configuration, "ports", None) or []
    ]
    if getattr(configuration, "type", "") == "service":
        port = getattr(configuration, "port", None)
        container_port = getattr(port, "container_port", None)
        if container_port and all(c != container_port for _, c in ports):
            ports.append((getattr(port, "local_port", None) or container_port, container_port))
    env = dict(configuration.env or {})
    env.update(
        {
            "DSTACK_RUN_NAME": run_name,
            "DSTACK_RUN_ID": run_id,
            "DSTACK_NODE_RANK": "0",
            "DSTACK_NODES_NUM": "1",
            "DSTACK_MASTER_NODE_IP": LOCAL_IP,
            "DSTACK_NODES_IPS": LOCAL_IP,
            "DSTACK_GPUS_NUM": str(gpus),
            "DSTACK_GPUS_PER_NODE": str(gpus),
        }
    )
    stop_duration = getattr(configuration, "stop_duration", None)
    spec = JobSpec(
        run_name=run_name,
        run_id=run_id,
        commands=commands,
        env=env,
        working_dir=configuration.working_dir,
        image=configuration.image,
        python=configuration.python,
        ports=ports,
        shm_size_gb=getattr(configuration.resources, "shm_size", None),
        gpus=gpus,
        stop_grace_seconds=int(stop_duration) if stop_duration else DEFAULT_STOP_GRACE_SECONDS,
    )
    return asdict(spec)


def job_spec(template: dict[str, Any], code_dir: Path) -> JobSpec:
    """The JobSpec of one submission whose project copy is `code_dir`."""
    values = dict(template)
    values["ports"] = [tuple(p) for p in values.get("ports") or []]
    env = dict(values.get("env") or {})
    env["DSTACK_WORKING_DIR"] = working_dir_seen_by_job(values, code_dir)
    values["env"] = env
    return JobSpec(**values)


def working_dir_seen_by_job(template: dict[str, Any], code_dir: Path) -> str:
    """Where the commands run: the project copy (or /workflow in a container) + working_dir."""
    base = CONTAINER_WORKDIR if template.get("image") else str(code_dir)
    working_dir = template.get("working_dir")
    if not working_dir:
        return base
    return posixpath.normpath(posixpath.join(base, working_dir))


def supervisor_environment() -> dict[str, str]:
    """The environment the job script starts with: the CLI's, less fleetstack's own knobs."""
    return {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}


def stop_grace_for_supervisor(template: dict[str, Any]) -> float:
    """The supervisor's grace after SIGTERM: the script's own grace plus room to clean up
    (a container stop takes up to 10 s more)."""
    grace = float(template.get("stop_grace_seconds") or DEFAULT_STOP_GRACE_SECONDS)
    return grace + (15.0 if template.get("image") else 5.0)
