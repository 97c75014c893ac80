"""The job script run locally with bash (no image): values inert, bash -e semantics, signals."""

from __future__ import annotations

from pathlib import Path

from fleetstack.templates.render import (
    EXIT_SETUP_FAILED,
    EXIT_TERMINATED,
    render_job_script,
)

from ..helpers import is_running, quoting_hazards, wait_for


def hostile_values(marker: Path, victim: Path) -> dict[str, str]:
    return {
        **quoting_hazards(marker),
        "LEADING_NEWLINE": "\nstarts with a newline",
        "UNICODE": "héllo ✓ 日本語 🚀",
        "SEMICOLON": f"; rm -rf {victim}; touch {marker}",
        "DOUBLE_DASH": "--",
        "OPTION": "-e",
        "YAML": ": # - { } [ ] ' \" \n key: value",
        "BACKSLASHES": "\\n \\\\ \\",
        "CARRIAGE_RETURN": "a\r\nb\r",
        "EXPANSIONS": "$HOME ${PATH} $((1+1)) !! %s %n",
        "GLOB": "* ? [a-z] ~",
        "HEREDOC": "EOF\n'EOF'\nFLEETSTACK_EOF",
        "TRAILING_BACKSLASH": "ends with \\",
    }


def test_hostile_env_values_arrive_byte_for_byte_and_run_nothing(job_runner, make_job, tmp_path):
    marker = tmp_path / "marker"
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep").write_text("still here")
    values = hostile_values(marker, victim)
    commands = ["mkdir -p out"] + [f"printf '%s' \"${name}\" > out/{name}" for name in values]

    result = job_runner.run(make_job(env=values, commands=commands))

    assert result.returncode == 0, result.stderr
    for name, value in values.items():
        assert (result.project / "out" / name).read_bytes() == value.encode("utf-8"), name
    assert not marker.exists()
    assert (victim / "keep").read_text() == "still here"


def test_hostile_working_dir_is_data(job_runner, make_job, tmp_path):
    # A folder name cannot hold "/", so the injected commands touch a relative file.
    name = "dir $(touch MARKER) `touch MARKER` 'q' \"d\"; touch MARKER"
    (job_runner.project / name).mkdir()

    result = job_runner.run(make_job(working_dir=name, commands=["pwd > here.txt"]))

    assert result.returncode == 0, result.stderr
    assert (job_runner.project / name / "here.txt").read_text().strip().endswith(name)
    assert not list(tmp_path.rglob("MARKER"))


def test_no_value_appears_in_the_script_text(make_job):
    script = render_job_script(make_job(env={"SECRET": "$(whoami) plain-text-value"}))

    assert "plain-text-value" not in script
    assert "$(whoami)" not in script


def test_a_failing_command_stops_the_job_with_its_exit_code(job_runner, make_job):
    job = make_job(commands=["echo first > first.txt", "exit 3", "echo never > never.txt"])

    result = job_runner.run(job)

    assert result.returncode == 3
    assert (result.project / "first.txt").exists()
    assert not (result.project / "never.txt").exists()


def test_a_failing_command_inside_a_line_stops_the_job(job_runner, make_job):
    result = job_runner.run(make_job(commands=["false", "touch after.txt"]))

    assert result.returncode == 1
    assert not (result.project / "after.txt").exists()


def test_multi_line_commands_run_as_one_script(job_runner, make_job):
    commands = [
        'for i in 1 2 3; do\n  echo "n=$i"\ndone > loop.txt',
        "if [ -s loop.txt ]; then\n  echo yes > if.txt\nfi",
        "cat <<'EOF' > heredoc.txt\n$NOT_EXPANDED\nEOF",
    ]

    result = job_runner.run(make_job(commands=commands))

    assert result.returncode == 0, result.stderr
    assert (result.project / "loop.txt").read_text() == "n=1\nn=2\nn=3\n"
    assert (result.project / "if.txt").read_text() == "yes\n"
    assert (result.project / "heredoc.txt").read_text() == "$NOT_EXPANDED\n"


def test_output_of_commands_reaches_stdout_and_stderr(job_runner, make_job):
    result = job_runner.run(make_job(commands=["echo to-out", "echo to-err >&2"]))

    assert result.returncode == 0
    assert result.stdout == "to-out\n"
    assert result.stderr == "to-err\n"


def test_no_commands_is_a_successful_job(job_runner, make_job):
    assert job_runner.run(make_job(commands=[])).returncode == 0


def test_working_dir_is_the_current_directory_of_the_commands(job_runner, make_job):
    (job_runner.project / "src" / "app").mkdir(parents=True)

    result = job_runner.run(make_job(working_dir="src/app", commands=["pwd"]))

    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == (job_runner.project / "src" / "app").resolve()


def test_a_missing_working_dir_fails_clearly(job_runner, make_job):
    result = job_runner.run(make_job(working_dir="nope", commands=["touch ran.txt"]))

    assert result.returncode == EXIT_SETUP_FAILED
    assert "fleetstack: working_dir nope does not exist" in result.stderr
    assert not (result.project / "ran.txt").exists()


def test_dstack_variables_from_the_engine_are_exported(job_runner, make_job):
    env = {"DSTACK_RUN_NAME": "test-run", "DSTACK_NODES_NUM": "1", "DSTACK_NODE_RANK": "0"}
    commands = ["env | grep '^DSTACK_' | sort"]

    result = job_runner.run(make_job(env=env, commands=commands))

    assert result.stdout.splitlines() == sorted(f"{k}={v}" for k, v in env.items())


def test_env_reaches_child_processes(job_runner, make_job):
    job = make_job(env={"GREETING": "hi there"}, commands=["bash -c 'echo \"$GREETING\"'"])

    assert job_runner.run(job).stdout == "hi there\n"


def test_a_path_in_env_does_not_break_the_script(job_runner, make_job):
    job = make_job(env={"PATH": "/nonexistent"}, commands=["printf '%s' \"$PATH\""])

    result = job_runner.run(job)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "/nonexistent"


def test_the_commands_file_is_removed_afterwards(job_runner, make_job):
    result = job_runner.run(make_job(commands=["echo $0 > script-path.txt", "exit 4"]))

    assert result.returncode == 4
    assert not Path((result.project / "script-path.txt").read_text().strip()).exists()
    assert list(job_runner.tmpdir.iterdir()) == []


def test_log_file_gets_a_copy_of_the_output(job_runner, make_job, tmp_path):
    log = tmp_path / "job.log"
    log.write_text("earlier\n")

    result = job_runner.run(
        make_job(commands=["echo out", "echo err >&2", "exit 5"]), FLEETSTACK_LOG_FILE=str(log)
    )

    assert result.returncode == 5
    assert "out\n" in result.stdout
    assert "err\n" in result.stdout
    assert log.read_text().startswith("earlier\n")
    assert sorted(log.read_text().splitlines()[1:]) == ["err", "out"]
    assert list(job_runner.tmpdir.iterdir()) == []


def test_sigterm_stops_the_commands_and_exits_143(job_runner, make_job):
    job = make_job(
        commands=[
            "sleep 300 &",
            "echo $! > sleep.pid",
            "trap 'echo got-term > term.txt; exit 9' TERM",
            "touch started",
            "wait",
        ]
    )
    project = job_runner.project

    returncode, stderr = job_runner.sigterm_when(
        job, lambda: (project / "started").exists(), timeout=60
    )

    assert returncode == EXIT_TERMINATED, stderr
    assert (project / "term.txt").read_text() == "got-term\n"
    sleep_pid = int((project / "sleep.pid").read_text())
    wait_for(lambda: not is_running(sleep_pid), "the background sleep to be gone")


def test_sigterm_before_a_long_command_ends_quickly_with_143(job_runner, make_job):
    job = make_job(commands=["touch started", "sleep 300"], stop_grace_seconds=60)

    # sleep dies from SIGTERM itself: no need to wait for the grace period.
    returncode, stderr = job_runner.sigterm_when(
        job, lambda: (job_runner.project / "started").exists(), timeout=30
    )

    assert returncode == EXIT_TERMINATED, stderr


def test_commands_that_ignore_sigterm_are_killed_after_the_grace(job_runner, make_job):
    job = make_job(
        commands=["trap '' TERM", "touch started", "while true; do sleep 0.2; done"],
        stop_grace_seconds=1,
    )

    returncode, stderr = job_runner.sigterm_when(
        job, lambda: (job_runner.project / "started").exists(), timeout=60
    )

    assert returncode == EXIT_TERMINATED, stderr
