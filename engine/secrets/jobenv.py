"""A job's secret env values: kept per run in the store, written for the job into `job.env`.

    values = job_environment(state, run)          # {"HF_TOKEN": "hf_..."}
    write_env_file(job_dir / ENV_FILE, values)    # 0600, read by the job script

`job.env` holds one `NAME=BASE64(VALUE)` line per variable; the job script (templates/
job.sh.j2) reads it next to itself and exports each name in the job's process only, so the
values are never in job.sh, a command line or the database; the script (and the local
supervisor, whatever the job's end) deletes it when the job ends. On a remote instance the same
bytes (`env_file_bytes`) are uploaded over SSH as a 0600 file beside the job script.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path

from ..errors import FleetstackError
from ..models.jobs import validate_env_name
from ..models.runs import RunSpec
from ..paths import write_private
from ..runner import jobfiles
from ..state import RunRecord
from .store import SecretStore

ENV_FILE = jobfiles.ENV_FILE
ENV_FILE_MODE = 0o600


def keep_run_values(run: RunRecord, values: Mapping[str, str]) -> None:
    """Keep the secret env values run `run` took at submit (encrypted, in its project's
    store), for every submission of its job."""
    if values:
        SecretStore(run.project).set_run(run.id, dict(values))


def job_environment(run: RunRecord) -> dict[str, str]:
    """The secret env values of `run`'s job (name -> value), as kept at submit.

    Raises FleetstackError when a name the job needs has no value kept (the store was
    deleted or replaced since the submit)."""
    spec = RunSpec.of(run.run_spec)
    names = list(spec.job.secret_env) if spec.job is not None else []
    if not names:
        return {}
    kept = SecretStore(run.project).run_values(run.id)
    missing = [name for name in names if name not in kept]
    if missing:
        raise FleetstackError(
            f"the value of {', '.join(missing)} kept for run {run.name} is gone from the "
            "secret store: submit the run again"
        )
    return {name: kept[name] for name in names}


def forget_run_values(run: RunRecord) -> None:
    """Delete what the store keeps for `run` (the run is deleted)."""
    SecretStore(run.project).delete_run(run.id)


def env_file_bytes(values: Mapping[str, str]) -> bytes:
    """The content of `job.env` for `values`: `NAME=BASE64` lines."""
    lines = []
    for name, value in values.items():
        try:
            validate_env_name(name)
        except ValueError as exc:
            raise FleetstackError(str(exc)) from None
        encoded = base64.b64encode(value.encode()).decode("ascii")
        lines.append(f"{name}={encoded}\n")
    return "".join(lines).encode("ascii")


def write_env_file(path: Path, values: Mapping[str, str]) -> None:
    """Write `job.env` at `path`, 0600 (atomically: the job never reads half of it)."""
    write_private(path, env_file_bytes(values))
