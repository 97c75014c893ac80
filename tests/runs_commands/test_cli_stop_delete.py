"""`dstack stop` and `dstack delete` end to end, on detached runs started by `dstack apply -d`."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

IGNORES_SIGTERM = ["trap '' TERM", "echo started", "while true; do sleep 0.2; done"]


def test_stop_of_a_detached_sleep_run_terminates_it_as_stopped_by_user(cli, submit):
    submit("napper", ["echo started", "sleep 300"], until="running")
    proc = cli.run("stop", "napper", "-y")
    assert proc.returncode == 0, proc.stderr
    assert b"Run napper stopped: terminated." in proc.stdout
    run = cli.run_of("napper")
    assert run["status"] == "terminated"
    assert run["termination_reason"] == "stopped_by_user"
    assert run["job_termination_reason"] == "terminated_by_user"
    assert run["error"] == "stopped by user"


def test_stop_abort_kills_now_as_aborted_by_user(cli, submit):
    # The commands ignore SIGTERM and have a 10 minute grace: only -x ends them soon.
    submit("mule", IGNORES_SIGTERM, extra="stop_duration: 10m\n", until="running")
    proc = cli.run("stop", "mule", "-x", "-y")
    assert proc.returncode == 0, proc.stderr
    assert b"Run mule aborted: terminated." in proc.stdout
    run = cli.run_of("mule")
    assert (run["status"], run["termination_reason"]) == ("terminated", "aborted_by_user")
    assert run["job_termination_reason"] == "aborted_by_user"


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace_period(cli, submit):
    submit("deaf", IGNORES_SIGTERM, extra="stop_duration: 1s\n", until="running")
    proc = cli.run("stop", "deaf", "-y")
    assert proc.returncode == 0, proc.stderr
    run = cli.wait_for_status("deaf", "terminated")
    assert run["job_termination_reason"] == "terminated_by_user"


def test_stop_asks_first_and_an_empty_pipe_is_a_no(cli, submit, gate):
    submit("asked", [cli.wait_on(gate)], until="running")
    proc = cli.run("stop", "asked")  # stdin is /dev/null, no -y
    assert proc.returncode == 1
    assert b"Stop the run asked? [y/n]: no (stdin gave no answer; pass -y)\n" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert cli.run_of("asked")["status"] == "running"
    gate.touch()
    cli.wait_for_status("asked", "done")


def test_stop_of_a_finished_run_says_so_and_succeeds(cli, submit):
    submit("over", ["true"], until="done")
    proc = cli.run("stop", "over", "-y")
    assert proc.returncode == 0
    assert b"Run over has already finished (done): nothing to stop." in proc.stdout
    assert cli.run_of("over")["status"] == "done"


def test_stop_of_an_unknown_run_fails_in_one_line(cli):
    proc = cli.run("stop", "ghost", "-y")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "run ghost not found; `dstack ps -a` lists runs"


def test_delete_of_a_finished_run_removes_it_and_its_logs(cli, submit):
    submit("gone", ["echo bye"], until="done")
    run_dir = cli.job_dir("gone").parent
    assert (run_dir / "job-0-0" / "output.log").exists()
    proc = cli.run("delete", "gone", "-y")
    assert proc.returncode == 0, proc.stderr
    assert b"Run gone deleted." in proc.stdout
    assert not run_dir.exists()
    assert cli.run_of("gone") is None
    assert b"gone" not in cli.run("ps", "-a").stdout
    assert cli.run("logs", "gone").returncode == 1


def test_delete_refuses_an_active_run(cli, submit, gate):
    submit("active", [cli.wait_on(gate)], until="running")
    proc = cli.run("delete", "active", "-y")
    assert proc.returncode == 1
    assert "stop it first with `dstack stop active`" in proc.stderr
    assert cli.run_of("active")["status"] == "running"
    gate.touch()
    cli.wait_for_status("active", "done")
    assert Path(os.environ["DSTACK_HOME"], "runs").is_dir()


def test_delete_dash_f_deletes_the_finished_run_the_file_names(cli, submit, project):
    submit("from-file", ["echo bye"], until="done")
    config = str(project / "from-file.dstack.yml")
    kept = cli.run("delete", "-f", config, input="n\n")
    assert kept.returncode == 1 and b"Run from-file kept." in kept.stdout
    assert cli.run_of("from-file")["status"] == "done"
    proc = cli.run("delete", "-f", config, input="y\n")
    assert proc.returncode == 0, proc.stderr
    assert b"Delete the run from-file and its logs? [y/n]: y\n" in proc.stdout
    assert b"Run from-file deleted." in proc.stdout
    assert cli.run_of("from-file") is None


def test_delete_dash_f_refuses_a_run_still_running(cli, submit, project, gate):
    submit("busy", [cli.wait_on(gate)], until="running")
    proc = cli.run("delete", "-f", str(project / "busy.dstack.yml"), "-y")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "run busy is still running: stop it first with `dstack stop busy`"
    gate.touch()
    cli.wait_for_status("busy", "done")


def test_delete_dash_f_of_a_fleet_file_deletes_that_fleet(cli, project):
    config = project / "fleet.dstack.yml"  # no name: apply names it after the file
    config.write_text("type: fleet\nnodes: 0..2\nbackends: [aws]\n")
    assert cli.run("apply", "-f", str(config), "-y", cwd=project).returncode == 0
    assert [f["name"] for f in json.loads(cli.run("fleet", "--json").stdout)] == ["fleet"]
    proc = cli.run("delete", "-f", str(config), "-y")
    assert proc.returncode == 0, proc.stderr
    assert b"Fleet fleet deleted: it had no stack." in proc.stdout
    assert json.loads(cli.run("fleet", "--json").stdout) == []
    again = cli.run("delete", "-f", str(config), "-y")
    assert again.returncode == 1
    assert again.stderr.strip() == "fleet fleet not found; `dstack fleet` lists fleets"


@pytest.mark.parametrize("args", [[], ["gone", "-f", "x.dstack.yml"]])
def test_delete_needs_a_run_or_a_file(cli, args):
    proc = cli.run("delete", *args, "-y")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "give a run's name or -f FILE: dstack delete RUN, dstack delete -f FILE"
    )


def _ask_on_a_terminal(cli, argv: list[str], answer: bytes) -> tuple[int, bytes]:
    """Run the CLI with a pseudo-terminal as stdin; answer its question; (exit code, output)."""
    import pty
    import subprocess

    main, secondary = pty.openpty()
    proc = subprocess.Popen(
        [cli.executable, *argv],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=os.environ.copy(),
    )
    os.close(secondary)
    seen = b""
    try:
        while b"[y/n]" not in seen:
            chunk = os.read(main, 4096)
            assert chunk, seen
            seen += chunk
        os.write(main, answer)
        proc.wait(timeout=cli.wait)
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    return proc.returncode, seen


def test_stop_asks_on_a_terminal_and_n_keeps_the_run(cli, submit, gate):
    submit("polite", [cli.wait_on(gate)], until="running")
    code, out = _ask_on_a_terminal(cli, ["stop", "polite"], b"n\n")
    assert b"Stop the run polite? [y/n]" in out
    assert code == 1
    assert cli.run_of("polite")["status"] == "running"
    code, out = _ask_on_a_terminal(cli, ["stop", "polite"], b"y\n")
    assert code == 0, out
    assert b"Run polite stopped: terminated." in out
    assert cli.run_of("polite")["status"] == "terminated"
