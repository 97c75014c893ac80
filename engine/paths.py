"""Where fleetstack keeps its files: ~/.dstack, moved by $DSTACK_HOME."""

from __future__ import annotations

import os
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
