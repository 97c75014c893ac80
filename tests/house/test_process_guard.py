"""The session guard of tests/conftest.py: a test that leaves a process behind fails."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]

LEAKY = """
import subprocess

def test_leaves_a_sleep_behind():
    subprocess.Popen(["sleep", "120"], start_new_session=True)

def test_waits_for_its_child():
    subprocess.run(["true"], check=True)
"""


def test_a_leaked_process_fails_its_test_and_is_killed(tmp_path):
    shutil.copy(TESTS / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_leaky.py").write_text(LEAKY)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "2 passed, 1 error" in out, out
    assert "ERROR at teardown of test_leaves_a_sleep_behind" in out, out
    match = re.search(r"the test left 1 process\(es\) running:\n\s+pid (\d+): sleep 120", out)
    assert match, out
    assert not _alive(int(match.group(1))), "the guard did not kill the leaked process"


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] not in "ZX"
