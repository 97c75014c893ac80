"""mypy over the whole package, as configured in pyproject.toml ([tool.mypy]).

`fleetstack` has no folder of its own: a staged tree <stage>/fleetstack/{engine,stacks,
templates,cli} of symlinks to the repo's folders, on MYPYPATH, gives mypy the package. The
stage lives in the temp dir under a name of this checkout, so its cache is reused.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOP_LEVEL = ("engine", "stacks", "templates", "cli")


def test_mypy_is_clean_over_the_package():
    checkout = hashlib.sha1(str(REPO).encode()).hexdigest()[:12]
    stage = Path(tempfile.gettempdir()) / f"fleetstack-mypy-{checkout}"
    proc = run_mypy(stage, {top: REPO / top for top in TOP_LEVEL})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_follows_the_symlinked_tree(tmp_path):
    source = tmp_path / "engine"
    source.mkdir()
    (source / "__init__.py").write_text("")
    shutil.copy(REPO / "engine" / "errors.py", source / "errors.py")
    (source / "broken.py").write_text(
        "from .errors import FleetstackError\n\n\ndef count() -> int:\n"
        '    return FleetstackError("x")\n'
    )
    proc = run_mypy(tmp_path / "stage", {"engine": source})
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "fleetstack/engine/broken.py:5: error: Incompatible return value" in proc.stdout
    assert "Found 1 error in 1 file" in proc.stdout, proc.stdout


def run_mypy(stage: Path, folders: dict[str, Path]) -> subprocess.CompletedProcess[str]:
    """mypy -p fleetstack over <stage>/fleetstack/NAME -> FOLDER for each of `folders`."""
    package = stage / "fleetstack"
    package.mkdir(parents=True, exist_ok=True)
    for name, folder in folders.items():
        link = package / name
        if link.is_symlink() and link.readlink() == folder:
            continue
        link.unlink(missing_ok=True)
        link.symlink_to(folder, target_is_directory=True)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml")]
        + ["--cache-dir", str(stage / "cache"), "-p", "fleetstack"],
        env={**os.environ, "MYPYPATH": str(stage)},
        cwd=stage,
        capture_output=True,
        text=True,
        timeout=900,
    )
