"""The job of a run, from its configuration: one builder for this machine and cloud instances.

The job sees what a dstack job sees: DSTACK_RUN_NAME, DSTACK_RUN_ID, DSTACK_NODES_NUM,
DSTACK_GPUS_NUM, DSTACK_GPUS_PER_NODE and DSTACK_WORKING_DIR, plus DSTACK_NODE_RANK,
DSTACK_MASTER_NODE_IP and DSTACK_NODES_IPS where the node addresses are known (127.0.0.1
here), and the configuration's `env` (with ${{ run.args }} already interpolated). The
DSTACK_* values describe the run truthfully, so they win over a configuration that sets the
same names. What differs between places is a JobPlacement.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..config import (
    DevEnvironmentConfiguration,
    PortMapping,
    ServiceConfiguration,
    TaskConfiguration,
)
from ..models.jobs import PUBLISH_ADDRESS, JobSpec, default_image

LOCAL_IP = "127.0.0.1"
# On an instance a port is published on every interface: the stack's firewall decides who
# reaches it (StackSpec.ports, allowed_cidr).
INSTANCE_PUBLISH_ADDRESS = "0.0.0.0"
CONTAINER_WORKDIR = "/workflow"  # where the job script mounts the project in a container
DEFAULT_STOP_GRACE_SECONDS = 300  # dstack's stop_duration default (5m)
# Known only once a multi-node run's instances exist: withheld where they are not known yet.
NODE_ADDRESS_VARIABLES = ("DSTACK_NODE_RANK", "DSTACK_MASTER_NODE_IP", "DSTACK_NODES_IPS")
# What a job gets from the CLI's environment: nothing else (credentials stay out of jobs);
# the job script exports the configured env and the DSTACK_* variables itself.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

RunConfiguration = TaskConfiguration | ServiceConfiguration | DevEnvironmentConfiguration


@dataclass(frozen=True)
class JobPlacement:
    """Where a job runs, as far as its spec differs between places."""

    code_dir: str | None  # where the project is; None: each submission has its own copy
    ports_as_container: bool  # publish each container port as itself (an instance's firewall)
    node_addresses_known: bool  # rank and node IPs are known now (this machine: yes)
    nodes: int = 1
    default_image: bool = False  # no `image:` means dstack's base image, not the host
    gpu_vendor: str | None = None


LOCAL = JobPlacement(code_dir=None, ports_as_container=False, node_addresses_known=True)


def instance_placement(code_dir: str, *, nodes: int, gpu_vendor: str | None) -> JobPlacement:
    """A job started by an instance's cloud-init, in a container, before node IPs are known."""
    return JobPlacement(
        code_dir=code_dir,
        ports_as_container=True,
        node_addresses_known=False,
        nodes=nodes,
        default_image=True,
        gpu_vendor=gpu_vendor,
    )


def with_node_addresses(job: JobSpec, addresses: Sequence[str]) -> JobSpec:
    """`job` with DSTACK_MASTER_NODE_IP (the first node's) and DSTACK_NODES_IPS (one a line)."""
    env = {**job.env, "DSTACK_MASTER_NODE_IP": addresses[0],
           "DSTACK_NODES_IPS": "\n".join(addresses)}  # fmt: skip
    return replace(job, env=env)


def build_job(
    configuration: RunConfiguration | None,
    *,
    run_name: str,
    run_id: str,
    gpus: int,
    placement: JobPlacement = LOCAL,
    secret_env: Iterable[str] = (),
) -> JobSpec:
    """The job that runs the configuration's commands at `placement` (None: no commands, an
    instance that only gets ready). Without a code_dir, DSTACK_WORKING_DIR is added per
    submission by `job_for_submission`. `secret_env` names the env entries whose values
    are secret (the configuration holds their digest; the job reads them from job.env)."""
    if configuration is None:
        return JobSpec(run_name=run_name, run_id=run_id, commands=[])
    commands = list(configuration.setup or []) + list(configuration.commands)
    mappings = _ports(configuration)
    ports = [(p.local_port or p.container_port, p.container_port) for p in mappings]
    # this machine: 127.0.0.1 unless the port says otherwise; an instance: its firewall
    addresses = [p.local_address or PUBLISH_ADDRESS for p in mappings]
    if placement.ports_as_container:
        ports = [(container, container) for _, container in ports]
        addresses = [INSTANCE_PUBLISH_ADDRESS for _ in ports]
    # a name without a value is left to the caller's environment: only in a plan that is not
    # submitted (validate, --dry-run); execute_plan refuses a plan that still has one
    env = {k: v for k, v in (configuration.env or {}).items() if v is not None}
    if not placement.node_addresses_known:
        for name in NODE_ADDRESS_VARIABLES:
            env.pop(name, None)
    env.update(_dstack_env(run_name, run_id, gpus, placement))
    image = configuration.image
    if image is None and placement.default_image:
        image = default_image(configuration.python)
    stop_duration = configuration.stop_duration
    job = JobSpec(
        run_name=run_name,
        run_id=run_id,
        commands=commands,
        env=env,
        working_dir=configuration.working_dir,
        image=image,
        python=configuration.python,
        ports=ports,
        shm_size_gb=configuration.resources.shm_size,
        gpus=gpus,
        gpu_vendor=placement.gpu_vendor,
        stop_grace_seconds=int(stop_duration) if stop_duration else DEFAULT_STOP_GRACE_SECONDS,
        secret_env=[name for name in dict.fromkeys(secret_env) if name in env],
        publish_addresses=addresses,
    )
    if placement.code_dir is None:
        return job
    return job_for_submission(job, Path(placement.code_dir))


def job_for_submission(job: JobSpec, code_dir: Path) -> JobSpec:
    """The job of one submission whose project copy is `code_dir` (DSTACK_WORKING_DIR set)."""
    env = dict(job.env)
    env["DSTACK_WORKING_DIR"] = working_dir_seen_by_job(job, code_dir)
    return replace(job, env=env)


def working_dir_seen_by_job(job: JobSpec, code_dir: Path) -> str:
    """Where the commands run: the project copy (or /workflow in a container) + working_dir."""
    base = CONTAINER_WORKDIR if job.image else str(code_dir)
    if not job.working_dir:
        return base
    return posixpath.normpath(posixpath.join(base, job.working_dir))


def supervisor_environment(job: JobSpec | None = None) -> dict[str, str]:
    """The environment the job script starts with: PATH, HOME and LANG only (the remote
    supervisor, engine/remote/supervise.sh, gives the same three). The job's own variables
    come from the script, its secret values from job.env: never from the CLI's environment."""
    return {
        "PATH": os.environ.get("PATH") or DEFAULT_PATH,
        "HOME": os.environ.get("HOME") or "/",
        "LANG": os.environ.get("LANG") or "C.UTF-8",
    }


def stop_grace_for_supervisor(job: JobSpec) -> float:
    """The supervisor's grace after SIGTERM: the script's own grace plus room to clean up
    (a container stop takes up to 10 s more)."""
    grace = float(job.stop_grace_seconds or DEFAULT_STOP_GRACE_SECONDS)
    return grace + (15.0 if job.image else 5.0)


def _ports(configuration: RunConfiguration) -> list[PortMapping]:
    if not isinstance(configuration, ServiceConfiguration):
        return list(configuration.ports)
    port = configuration.port  # a service also publishes the port its app listens on
    return [port]


def _dstack_env(run_name: str, run_id: str, gpus: int, placement: JobPlacement) -> dict[str, str]:
    nodes = placement.nodes
    env = {"DSTACK_RUN_NAME": run_name, "DSTACK_RUN_ID": run_id}
    if placement.node_addresses_known:
        env["DSTACK_NODE_RANK"] = "0"
    env["DSTACK_NODES_NUM"] = str(nodes)
    if placement.node_addresses_known:
        env["DSTACK_MASTER_NODE_IP"] = LOCAL_IP
        env["DSTACK_NODES_IPS"] = LOCAL_IP
    env["DSTACK_GPUS_NUM"] = str(gpus * nodes)
    env["DSTACK_GPUS_PER_NODE"] = str(gpus)
    return env
