"""Alembic migrations of the state database, shipped as package data.

Run programmatically (no alembic.ini): `upgrade(connection)`. HEAD_REVISION lets
open_state skip alembic entirely when the database is already current; a test checks that
it matches the head of versions/.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

HEAD_REVISION = "0002"
VERSION_TABLE = "alembic_version"


def script_location() -> str:
    return str(Path(__file__).parent)


def alembic_config(connection: Connection | None = None) -> Config:
    """An alembic Config pointing at this package; `connection` is used by env.py when given."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", script_location())
    config.attributes["connection"] = connection
    return config


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Bring the schema to `revision` inside the caller's transaction on `connection`."""
    from alembic import command

    command.upgrade(alembic_config(connection), revision)
