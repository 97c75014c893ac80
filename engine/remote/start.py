"""Starting a job on a remote instance (ssh fleets, cloud instances after `up`).

    handle = start_remote_job(job_dir, job=job_spec, instance=instance, job_id=..., ...)

The project copy is already in JOB_DIR/code (the same copy rules as a local job); this
writes JOB_DIR/remote.json and JOB_DIR/files/* (extra files for the host's job dir, e.g. a
0600 job.env), then starts the detached follower (engine/remote/follower.py), which uploads
and starts the job on the host and follows it. Returns once the follower names itself.
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path

from ..backends.base import Capability
from ..backends.registry import get_backend
from ..models.jobs import JobSpec
from ..models.json import JSONObject, JSONValue
from ..models.statuses import JobStatus
from ..runner import jobfiles
from ..runner.jobcontrol import SupervisorHandle, is_alive, record_supervisor, spawn_detached
from ..state import InstanceRecord, JobRecord, State, get_job, list_jobs
from .connection import SSHTarget
from .follower import (
    FILES_DIR,
    SPEC_FILE,
    STARTED_FILE,
    RemoteSpec,
    target_from_json,
    target_to_json,
)

FOLLOWER_MODULE = "fleetstack.engine.remote.follower"
REVIVE_LOCK = "revive.lock"


def is_remote(instance: InstanceRecord | None) -> bool:
    """True when a job on `instance` runs elsewhere (reached over SSH), not on this machine."""
    return instance is not None and not get_backend(instance.backend).supports(
        Capability.LOCAL_JOBS
    )


def instance_target(instance: InstanceRecord) -> SSHTarget:
    """How to reach an instance: its hostname, ssh_port and ssh_user, and from backend_data
    its identity_file and proxy_jump (the project key and no jump host by default)."""
    data = instance.backend_data or {}
    identity = data.get("identity_file")
    jump = data.get("proxy_jump")
    if not instance.hostname:
        raise ValueError(f"instance {instance.name} has no address yet")
    return SSHTarget(
        hostname=instance.hostname,
        port=instance.ssh_port or 22,
        user=instance.ssh_user or "root",
        identity_file=str(identity) if identity else None,
        proxy_jump=target_from_json(jump) if isinstance(jump, dict) else None,
    )


def instance_gpu_vendor(instance: InstanceRecord) -> str | None:
    """The GPU vendor of the instance's resources JSON (None without GPUs)."""
    resources = instance.resources or {}
    gpus = resources.get("gpus")
    if isinstance(gpus, list) and gpus and isinstance(gpus[0], dict):
        vendor = gpus[0].get("vendor")
        return str(vendor) if vendor else None
    return None


def start_remote_job(
    job_dir: Path,
    *,
    job: JobSpec,
    instance: InstanceRecord,
    job_id: str,
    database_url: str | None,
    grace_seconds: float,
    max_duration: float | None,
    files: Mapping[str, tuple[bytes, int]] | None = None,
) -> SupervisorHandle:
    """Write the follower's spec and extra files, start it detached; its handle."""
    spec: RemoteSpec = {
        "target": target_to_json(instance_target(instance)),
        "job": _job_json(job),
        "job_id": job_id,
        "database_url": database_url,
        "grace_seconds": grace_seconds,
        "max_duration": max_duration,
        "gpu_vendor": instance_gpu_vendor(instance),
        "home": _text((instance.backend_data or {}).get("home")),
    }
    jobfiles.write_json_atomic(job_dir / SPEC_FILE, dict(spec), mode=0o600)
    for name, (content, mode) in (files or {}).items():
        path = job_dir / FILES_DIR / name
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(path, mode)
    for name in (jobfiles.EXIT_STATUS_FILE, jobfiles.STOP_REQUEST_FILE):
        (job_dir / name).unlink(missing_ok=True)
    return spawn_detached(FOLLOWER_MODULE, job_dir, "the remote job follower")


def revive_followers(state: State) -> list[JobRecord]:
    """Start a new follower for each live remote job of this host whose follower died after
    it had started the job (the job goes on on the host); returns the jobs revived."""
    host = socket.gethostname()
    live = [s for s in JobStatus if not s.is_finished]
    revived = []
    for job in list_jobs(state, statuses=live):
        if not job.instance_id or job.supervisor_host != host or not job.job_dir:
            continue
        job_dir = Path(job.job_dir)
        if not (job_dir / STARTED_FILE).exists() or (job_dir / jobfiles.EXIT_STATUS_FILE).exists():
            continue  # not started remotely yet (its starter answers for it), or it has ended
        with open(job_dir / REVIVE_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one reviver at a time; the next sees it alive
            current = get_job(state, job.id)
            if current is None or current.status.is_finished or current.supervisor_pid is None:
                continue
            if is_alive(current.supervisor_pid, current.supervisor_token):
                continue
            handle = spawn_detached(FOLLOWER_MODULE, job_dir, "the remote job follower")
            revived.append(record_supervisor(state, job.id, handle))
    return revived


def _job_json(job: JobSpec) -> JSONObject:
    data: dict[str, JSONValue] = {}
    for key, value in asdict(job).items():
        if key == "ports":
            data[key] = [[int(a), int(b)] for a, b in value]
        elif key == "env":
            data[key] = {str(k): str(v) for k, v in value.items()}
        elif key == "commands":
            data[key] = [str(c) for c in value]
        else:
            data[key] = value
    return data


def _text(value: JSONValue) -> str | None:
    return value if isinstance(value, str) and value else None
