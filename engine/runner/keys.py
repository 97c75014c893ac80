"""The project's SSH key: generated once, authorized on every instance a fleet creates."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import FleetstackError


@dataclass(frozen=True)
class ProjectKey:
    """The private key's path and the public key's OpenSSH text (`ssh-ed25519 AAAA... comment`)."""

    private_path: Path
    public_key: str


def project_key(home: Path, *, create: bool = True) -> ProjectKey:
    """Return the project key under `home/ssh/`, generating an ed25519 pair on first use.

    The private key is written 0600 in a 0700 folder; an existing key is never replaced.
    """
    key_dir = home / "ssh"
    private = key_dir / "id_ed25519"
    public = key_dir / "id_ed25519.pub"
    if not private.exists():
        if not create:
            raise FleetstackError(f"{private}: the project SSH key does not exist yet")
        _generate(key_dir, private)
    if not public.exists():
        public.write_text(_public_from_private(private) + "\n")
    return ProjectKey(private_path=private, public_key=public.read_text().strip())


def _generate(key_dir: Path, private: Path) -> None:
    key_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(key_dir, 0o700)
    keygen = shutil.which("ssh-keygen")
    if keygen is None:
        raise FleetstackError(
            "ssh-keygen was not found: install OpenSSH (apt-get install openssh-client) so "
            "fleetstack can create the project's SSH key"
        )
    result = subprocess.run(
        [keygen, "-q", "-t", "ed25519", "-N", "", "-C", "fleetstack", "-f", str(private)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise FleetstackError(f"ssh-keygen could not create {private}: {result.stderr.strip()}")
    os.chmod(private, 0o600)


def _public_from_private(private: Path) -> str:
    result = subprocess.run(
        ["ssh-keygen", "-y", "-f", str(private)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise FleetstackError(f"{private}: not a readable SSH private key: {result.stderr.strip()}")
    return result.stdout.strip()
