"""A throwaway PostgreSQL cluster (Debian's postgresql) on a free port, for the state and
reconciler tests that run on PostgreSQL as well as SQLite.

    cluster = start_cluster()      # None when postgresql is not installed
    url = cluster.new_database()   # postgresql+psycopg://... of a fresh, empty database
    cluster.stop()

initdb refuses to run as root: as root the cluster runs as the `postgres` user. The data
directory lives in a private temporary folder, removed by stop().
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


@dataclass
class Cluster:
    root: Path
    port: int
    user: str
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:16]}"
        dsn = f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, _tool("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate",
             "-w", "stop"],
            capture_output=True,
            check=False,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def available() -> bool:
    return bool(_BIN_DIRS) and Path(_tool("initdb")).exists()


def start_cluster() -> Cluster | None:
    """A running cluster, or None when postgresql is not installed."""
    if not available():
        return None
    root = Path(tempfile.mkdtemp(prefix="fleetstack-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    user = "fleetstack"
    data = root / "data"
    # The server outlives the test that first asked for it: it must not carry that test's
    # id, or the leak guard (tests/conftest.py) would take it for that test's leak.
    env = {k: v for k, v in os.environ.items() if k != "FLEETSTACK_TEST_ID"}
    subprocess.run(
        [*as_user, _tool("initdb"), "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8",
         "--no-sync"],
        capture_output=True,
        check=True,
    )  # fmt: skip
    port = _free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*as_user, _tool("pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
         options, "start"],
        capture_output=True,
        check=True,
        env=env,
    )  # fmt: skip
    return Cluster(root=root, port=port, user=user, as_user=as_user)


def _tool(name: str) -> str:
    return str(_BIN_DIRS[0] / name) if _BIN_DIRS else name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
