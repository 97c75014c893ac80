"""Where fleetstack keeps its files: ~/.dstack, moved by $DSTACK_HOME, private to its user.

Every fleetstack process sets umask 077 first (`private_process`), so whatever it creates
under $DSTACK_HOME is 0600 (0700 for folders and scripts) whatever the caller's umask; the
home itself is 0700 and tightened when found looser (`ensure_private_home`).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path


def dstack_home() -> Path:
    """The directory of config.yml, the state DB, caches and the downloaded catalog."""
    value = os.environ.get("DSTACK_HOME")
    if value:
        return Path(value).expanduser()
    return Path.home() / ".dstack"


def config_path() -> Path:
    """The backends configuration file: $DSTACK_HOME/config.yml."""
    return dstack_home() / "config.yml"


def catalog_dir() -> Path:
    """Where `dstack catalog update` puts gpuhunt's live catalog."""
    return dstack_home() / "catalog"


def cache_dir() -> Path:
    """Derived, disposable data (parsed catalogs and the like)."""
    return dstack_home() / "cache"


def ensure_private_home(home: Path | None = None, *, create: bool = True) -> Path:
    """$DSTACK_HOME as a 0700 directory: created so (unless `create` is False), or tightened
    with a one-line notice on stderr when it exists with access for the group or others."""
    home = home or dstack_home()
    try:
        mode = home.stat().st_mode
    except FileNotFoundError:
        if not create:
            return home
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(home, 0o700)  # mkdir's mode is cut by the umask, never widened by it
        return home
    if stat.S_ISDIR(mode) and mode & 0o077:
        os.chmod(home, 0o700)
        _tighten_tree(home)  # what an older fleetstack or another umask left open
        print(
            f"fleetstack: {home} was open to other users (mode {stat.S_IMODE(mode):o}); "
            "made it private (700)",
            file=sys.stderr,
        )
    return home


def private_process() -> None:
    """What every fleetstack process does first: files it creates are for its user only
    (umask 077: 0600 files, 0700 folders; SQLite's -wal/-shm follow the database's mode)."""
    os.umask(0o077)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` at once (temp file + rename) as a 0600 file in a 0700 folder."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.replace(tmp, path)


def _tighten_tree(root: Path) -> None:
    """Take group and other bits off everything under root (links are not followed)."""
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                mode = os.lstat(path).st_mode
                if not stat.S_ISLNK(mode) and mode & 0o077:
                    os.chmod(path, stat.S_IMODE(mode) & 0o700)
