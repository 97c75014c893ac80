"""Secrets: the encrypted per-project store (`dstack secret`), which env values of a
configuration are secret, and how their values reach a job (`job.env`), never the state
database, logs, plans or the stack's config."""

from __future__ import annotations

from ..config.secret_refs import SecretEnv, secret_env
from .jobenv import (
    ENV_FILE,
    ENV_FILE_MODE,
    env_file_bytes,
    forget_run_values,
    job_environment,
    keep_run_values,
    write_env_file,
)
from .refs import PLACEHOLDER, PlaceholderSecrets, protect
from .store import DEFAULT_PROJECT, SecretStore, check_secret_name, digest, key_path, store_path

__all__ = [
    "DEFAULT_PROJECT",
    "ENV_FILE",
    "ENV_FILE_MODE",
    "PLACEHOLDER",
    "PlaceholderSecrets",
    "SecretEnv",
    "SecretStore",
    "check_secret_name",
    "digest",
    "env_file_bytes",
    "forget_run_values",
    "job_environment",
    "keep_run_values",
    "key_path",
    "protect",
    "secret_env",
    "store_path",
    "write_env_file",
]
