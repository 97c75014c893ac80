"""`dstack logs` end to end: raw bytes, --since, -f until the run ends, unknown runs."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime

from fleetstack.engine.runner import jobfiles


def test_logs_are_byte_exact(cli, submit, project, log_payload):
    (project / "payload.bin").write_bytes(log_payload)
    submit("binary", ["cat payload.bin"], until="done")
    proc = cli.run("logs", "binary")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == log_payload


def test_logs_since_a_time_and_a_duration(cli, submit, gate):
    submit("phases", ["echo early", cli.wait_on(gate), "echo late"], until="running")
    cli.wait_for(lambda: cli.run("logs", "phases").stdout == b"early\n", "early output")
    _, logged_at = jobfiles.read_index(cli.job_dir("phases"))
    now = datetime.now(UTC)
    assert logged_at and logged_at[-1] < now.timestamp()  # `early` is older than `between`
    between = now.isoformat().replace("+00:00", "Z")
    gate.touch()  # `late` is written after `between`
    cli.wait_for_status("phases", "done")
    assert cli.run("logs", "phases").stdout == b"early\nlate\n"
    assert cli.run("logs", "phases", "--since", between).stdout == b"late\n"
    assert cli.run("logs", "phases", "--since", "1h").stdout == b"early\nlate\n"
    bad = cli.run("logs", "phases", "--since", "yesterday-ish")
    assert bad.returncode == 1
    assert "--since yesterday-ish: expected a duration such as 10m" in bad.stderr


def test_logs_follow_ends_when_the_run_ends(cli, submit, gate):
    submit("followed", ["printf 'first '", cli.wait_on(gate), "printf 'second'"], until="running")
    follower = subprocess.Popen(
        [cli.executable, "logs", "followed", "-f"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=os.environ.copy(),
    )
    try:
        seen = cli.read_until(follower, b"first ")
        assert follower.poll() is None  # still following: the run goes on
        gate.touch()
        rest, err = follower.communicate(timeout=cli.wait)
    finally:
        if follower.poll() is None:
            follower.kill()
        gate.touch()
    assert follower.returncode == 0, err
    assert seen + rest == b"first second"


def test_logs_of_an_unknown_run_is_one_red_line(cli):
    proc = cli.run("logs", "nobody")
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert proc.stderr.strip() == "run nobody not found; `dstack ps -a` lists runs"


def test_logs_diagnose_prints_the_supervisor_log(cli, submit):
    submit("diag", ["echo hi"], until="done")
    (cli.job_dir("diag") / "supervisor.log").write_bytes(b"supervisor says hi\n")
    proc = cli.run("logs", "diag", "-d")
    assert proc.returncode == 0
    assert proc.stdout == b"supervisor says hi\n"
