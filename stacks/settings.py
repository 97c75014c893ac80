"""Where stack state lives (backend URL) and the passphrase that encrypts its secrets."""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from .errors import StackError

_REMOTE_SCHEMES = ("s3://", "gs://", "azblob://", "https://", "http://", "file://")


def dstack_home() -> Path:
    """DSTACK_HOME or ~/.dstack (a local copy: stacks never imports the engine)."""
    value = os.environ.get("DSTACK_HOME")
    return Path(value).expanduser() if value else Path.home() / ".dstack"


def backend_url(explicit: str | None = None) -> str:
    """The Pulumi state backend: explicit > PULUMI_BACKEND_URL > file://<DSTACK_HOME>/pulumi."""
    url = explicit or os.environ.get("PULUMI_BACKEND_URL")
    if url:
        if not url.startswith(_REMOTE_SCHEMES):
            raise StackError(
                f"state backend {url!r} is not supported: use file://PATH, s3://BUCKET, "
                "gs://BUCKET, azblob://CONTAINER or https://api.pulumi.com"
            )
        return url
    folder = dstack_home() / "pulumi"
    folder.mkdir(parents=True, exist_ok=True)
    return f"file://{folder}"


def passphrase_env(passphrase_file: Path | None = None) -> dict[str, str]:
    """Environment for the passphrase secrets provider (PULUMI_CONFIG_PASSPHRASE[_FILE])."""
    if passphrase_file is None and os.environ.get("PULUMI_CONFIG_PASSPHRASE") is not None:
        return {"PULUMI_CONFIG_PASSPHRASE": os.environ["PULUMI_CONFIG_PASSPHRASE"]}
    path = passphrase_file or _env_path("PULUMI_CONFIG_PASSPHRASE_FILE")
    path = path or dstack_home() / "pulumi-passphrase"
    return {"PULUMI_CONFIG_PASSPHRASE": read_or_create_passphrase(path)}


def read_or_create_passphrase(path: Path) -> str:
    """Read the passphrase at `path`, creating it (0600, random) when missing; never overwrite."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise StackError(
            f"{path}: the Pulumi passphrase file is readable by other users "
            f"(mode {stat.S_IMODE(mode):o}); fix it with `chmod 600 {path}`"
        )
    value = path.read_text().strip()
    if not value:
        raise StackError(f"{path}: the Pulumi passphrase file is empty; delete it or write one")
    return value


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None
