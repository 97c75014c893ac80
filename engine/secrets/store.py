"""The per-project secret store: $DSTACK_HOME/secrets/<project>.enc, encrypted at rest.

    store = SecretStore("main")
    store.set("HF_TOKEN", "hf_...")      # `dstack secret set HF_TOKEN`
    store.values()                       # {"HF_TOKEN": "hf_..."}: resolves ${{ secrets.NAME }}

The file is one Fernet token (AES-128-CBC + HMAC-SHA256, from `cryptography`) of a JSON
document {"secrets": {NAME: VALUE}, "runs": {RUN_ID: {NAME: VALUE}}}: the stored secrets,
and per run the env values it took at submit (stored secrets and `- NAME` entries from the
caller's environment), so that a job started later by another process still gets them. The
key is $DSTACK_HOME/keys/secrets.key, apart from the store; both files are 0600 in 0700
folders. Writers take an flock on <project>.lock and replace the file atomically, so a
reader sees the old store or the new one and two writers never lose each other's change.

`cryptography` is imported inside the functions that encrypt (it is heavy for the CLI).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TypedDict

from ..errors import FleetstackError
from ..paths import dstack_home, write_private

DEFAULT_PROJECT = "main"
SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_SECRET_BYTES = 64 * 1024  # a token or a key; a secret is never a data set
MAX_STORE_BYTES = 16 * 1024 * 1024
DIGEST_CHARS = 12


def key_path(home: Path | None = None) -> Path:
    """Where the store's key lives: $DSTACK_HOME/keys/secrets.key."""
    return (home or dstack_home()) / "keys" / "secrets.key"


def store_path(project: str = DEFAULT_PROJECT, home: Path | None = None) -> Path:
    """The project's encrypted store: $DSTACK_HOME/secrets/<project>.enc."""
    return (home or dstack_home()) / "secrets" / f"{project}.enc"


def check_secret_name(name: str) -> None:
    """FleetstackError unless `name` can be a secret (and an environment variable) name."""
    if not SECRET_NAME.fullmatch(name):
        raise FleetstackError(
            f"secret name {name!r}: use letters, digits and _, not starting with a digit "
            "(it is used as ${{ secrets.NAME }})"
        )


def digest(value: str, home: Path | None = None) -> str:
    """`sha256:` + the first 12 hex digits of HMAC-SHA256(store key, value): tells two values
    apart in a plan or `ps -v` without revealing either (keyed, so a short or guessable
    value cannot be found by hashing candidates)."""
    mac = hmac.new(_key(home), value.encode(), hashlib.sha256).hexdigest()
    return f"sha256:{mac[:DIGEST_CHARS]}"


class SecretStore:
    """The secrets of one project and the env values of its runs, encrypted at rest."""

    def __init__(self, project: str = DEFAULT_PROJECT, home: Path | None = None) -> None:
        self.project = project
        self.home = home or dstack_home()
        self.path = store_path(project, self.home)

    def names(self) -> list[str]:
        """The stored secrets' names, sorted (`dstack secret list`)."""
        return sorted(self._read()["secrets"])

    def values(self) -> dict[str, str]:
        """Every stored secret by name (what ${{ secrets.NAME }} resolves from)."""
        return dict(self._read()["secrets"])

    def set(self, name: str, value: str) -> bool:
        """Store `name`; True when it replaced a value."""
        check_secret_name(name)
        if "\x00" in value:
            raise FleetstackError(f"secret {name}: a NUL byte cannot reach a job's environment")
        if len(value.encode()) > MAX_SECRET_BYTES:
            raise FleetstackError(
                f"secret {name}: {len(value.encode())} bytes is over the {MAX_SECRET_BYTES} "
                "bytes a secret may hold"
            )
        with self._locked() as data:
            replaced = name in data["secrets"]
            data["secrets"][name] = value
        return replaced

    def delete(self, name: str) -> bool:
        """Forget `name`; False when it was not stored."""
        with self._locked() as data:
            return data["secrets"].pop(name, None) is not None

    def set_run(self, run_id: str, values: dict[str, str]) -> None:
        """Keep the env values run `run_id` took at submit, until the run is deleted."""
        with self._locked() as data:
            data["runs"][run_id] = dict(values)

    def run_values(self, run_id: str) -> dict[str, str]:
        """The env values kept for run `run_id` ({} for a run that took none)."""
        return dict(self._read()["runs"].get(run_id, {}))

    def delete_run(self, run_id: str) -> None:
        """Forget the values of run `run_id` (its deletion)."""
        if not self.path.exists():
            return
        with self._locked() as data:
            data["runs"].pop(run_id, None)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[_StoreData]:
        lock = self.path.with_suffix(".lock")
        lock.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            data = self._read()
            yield data
            self._write(data)
        finally:
            os.close(fd)

    def _read(self) -> _StoreData:
        try:
            with open(self.path, "rb") as f:
                token = f.read(MAX_STORE_BYTES + 1)
        except FileNotFoundError:
            return {"secrets": {}, "runs": {}}
        if len(token) > MAX_STORE_BYTES:
            raise FleetstackError(f"{self.path}: over {MAX_STORE_BYTES} bytes: not a secret store")
        plain = _decrypt(token, self.home, self.path)
        try:
            loaded = json.loads(plain)
            secrets = {str(k): str(v) for k, v in loaded["secrets"].items()}
            runs = {
                str(r): {str(k): str(v) for k, v in values.items()}
                for r, values in loaded["runs"].items()
            }
        except (ValueError, KeyError, AttributeError, TypeError):
            raise FleetstackError(f"{self.path}: not a fleetstack secret store") from None
        return {"secrets": secrets, "runs": runs}

    def _write(self, data: _StoreData) -> None:
        plain = json.dumps(data, sort_keys=True).encode()
        write_private(self.path, _encrypt(plain, self.home))


class _StoreData(TypedDict):
    secrets: dict[str, str]
    runs: dict[str, dict[str, str]]


def _key(home: Path | None) -> bytes:
    """The store's key (urlsafe base64 of 32 random bytes), created 0600 on first use."""
    path = key_path(home)
    try:
        with open(path, "rb") as f:
            key = f.read(1024).strip()
    except FileNotFoundError:
        key = _create_key(path)
    if len(key) != 44:
        raise FleetstackError(f"{path}: not a secrets key (44 characters of base64 expected)")
    return key


def _create_key(path: Path) -> bytes:
    import base64
    import secrets

    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = base64.urlsafe_b64encode(secrets.token_bytes(32))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        with open(path, "rb") as f:
            return f.read(1024).strip()
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
        f.flush()
        os.fsync(f.fileno())
    return key


def _encrypt(plain: bytes, home: Path) -> bytes:
    # cryptography is heavy: loaded only when the store is written.
    from cryptography.fernet import Fernet

    return Fernet(_key(home)).encrypt(plain)


def _decrypt(token: bytes, home: Path, path: Path) -> bytes:
    # cryptography is heavy: loaded only when the store is read.
    from cryptography.fernet import Fernet, InvalidToken

    try:
        return Fernet(_key(home)).decrypt(token)
    except InvalidToken:
        raise FleetstackError(
            f"{path} cannot be decrypted with {key_path(home)}: the key was replaced or the "
            "store damaged; delete the store and set the secrets again"
        ) from None
