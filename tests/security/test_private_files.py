"""Under the default umask 022, everything fleetstack writes under $DSTACK_HOME is its user's
only: 0700 folders, 0600 (or 0700) files, an existing looser home tightened with a notice."""

from __future__ import annotations

import os
import stat

from fleetstack.engine.state import close_all, open_state

from .conftest import dstack, tree

CONFIG = """type: task
name: private
env:
  - TOKEN=${{{{ secrets.TOKEN }}}}
commands:
  - stat -c %a ../job.env > {env_mode}
  - echo written > out.txt
resources:
  cpu: 1..
  memory: 1GB..
  disk: 1GB..
"""


def test_every_file_and_folder_fleetstack_creates_is_private(project, home, tmp_path):
    old = os.umask(0o022)  # a database made before, by another umask
    try:
        home.mkdir(mode=0o755)
        os.chmod(home, 0o755)
        open_state()  # a database made before: 0644 under this umask
        close_all()
        (home / "old-runs").mkdir()
        (home / "old-runs" / "output.log").write_text("an older fleetstack's log\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((home / "state.db").stat().st_mode) == 0o644
    env_mode = tmp_path / "env_mode"
    (project / ".dstack.yml").write_text(CONFIG.format(env_mode=env_mode))
    (project / "tool.sh").write_text("#!/bin/sh\n")
    os.chmod(project / "tool.sh", 0o755)

    first = dstack("secret", "set", "TOKEN", "t0ken", umask=0o022)
    assert first.returncode == 0, first.stderr
    assert first.stderr.splitlines() == [
        f"fleetstack: {home} was open to other users (mode 755); made it private (700)"
    ]
    applied = dstack("apply", "-y", "-b", "local", cwd=project, umask=0o022)
    assert applied.returncode == 0, applied.stderr
    assert "open to other users" not in applied.stderr  # tightened once
    assert env_mode.read_text().strip() == "600"  # job.env while the job ran
    assert dstack("ps", "-a", umask=0o022).returncode == 0

    paths = list(tree(home))
    names = {p.name for p in paths}
    for expected in ("state.db", "old-runs", "job.sh", "output.log", "supervisor.json", "out.txt",
                     "tool.sh", "secrets.key", "main.enc"):  # fmt: skip
        assert expected in names
    loose = []
    for path in paths:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        allowed = (0o700,) if path.is_dir() else (0o600, 0o700, 0o400, 0o500)
        if mode not in allowed:
            loose.append(f"{mode:o} {path.relative_to(home)}")
    assert loose == []
    (tool,) = [p for p in paths if p.name == "tool.sh"]
    assert stat.S_IMODE(tool.stat().st_mode) == 0o700  # a script stays executable
