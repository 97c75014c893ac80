"""The plan path exits cleanly: no `Exception ignored in: BaseEventLoop.__del__ ...` and no
traceback after the resource plans of every example, 30 rounds.

The cause was event loops the Pulumi SDK's mock monitor creates in its executor threads and
nobody closed (stacks/offline.py now gives those threads loops it closes); the interpreter
finalised them after their sockets, in some runs only. With `-W always::ResourceWarning`
every such loop says `unclosed event loop` when it is collected, in every run, so the rounds
run in-process (two processes of 15 rounds in parallel) and stderr is read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DSTACK = Path(sys.executable).parent / "dstack"
HELPER = Path(__file__).with_name("plan_repeatedly.py")
LEFT_BEHIND = ("Exception ignored", "Traceback", "unclosed event loop", "Invalid file descriptor")


def test_thirty_rounds_of_every_example_plan_leave_nothing_on_stderr():
    flags = ["-W", "always::ResourceWarning", "-W", "ignore::DeprecationWarning"]
    processes = [
        subprocess.Popen(
            [sys.executable, *flags, str(HELPER), str(EXAMPLES), "15"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": ""},
        )
        for _ in range(2)
    ]
    results = [(p.communicate(timeout=600), p.returncode) for p in processes]

    examples = len(list(EXAMPLES.glob("*.dstack.yml")))
    for (stdout, stderr), code in results:
        assert code == 0, stderr
        rounds = [line.split() for line in stdout.splitlines()]
        assert [r[:3] for r in rounds] == [[str(n), str(examples), "0"] for n in range(15)]
        assert not [m for m in LEFT_BEHIND if m in stderr], stderr[-3000:]


def test_the_cli_plan_of_the_examples_prints_nothing_on_stderr():
    processes = [
        subprocess.Popen(
            [str(DSTACK), "plan", "-f", str(EXAMPLES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    for process in processes:
        _stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        assert stderr == ""
