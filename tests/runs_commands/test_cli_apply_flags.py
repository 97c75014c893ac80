"""The `dstack apply` a dstack user types: its flags, run arguments, stdin and the prompt."""

from __future__ import annotations

import pytest

from .conftest import TASK_TEMPLATE, dstack, ps_json, run_of

ECHO = '  - echo "args=${{ run.args }} name=$DSTACK_RUN_NAME foo=$FOO"'


@pytest.fixture
def config(project):
    path = project / "echo.dstack.yml"
    path.write_text(TASK_TEMPLATE.format(name="echo", commands=ECHO))
    return path


def test_an_unknown_flag_is_an_error_that_says_where_run_args_go(config, project):
    proc = dstack("apply", "-f", str(config), "-y", "--spott", cwd=project)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "dstack apply: no such option --spott (did you mean --spot, --spot-auto, --port?)",
        "a run argument goes after --: dstack apply -f FILE -- --spott",
    ]
    assert ps_json("-a") == {}


def test_name_env_and_run_args_after_double_dash_reach_the_run(config, project):
    proc = dstack(
        "apply", "-f", str(config), "-y", "-n", "renamed", "-e", "FOO=bar", "--", "--lr", "1",
        cwd=project,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert b"args=--lr 1 name=renamed foo=bar\n" in proc.stdout
    assert run_of("renamed")["status"] == "done" and run_of("echo") is None


def test_a_piped_answer_confirms(config, project):
    proc = dstack("apply", "-f", str(config), input="y\n", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert b"Submit the run echo? [y/n]: y\n" in proc.stdout
    assert run_of("echo")["status"] == "done"
    proc = dstack("apply", "-f", str(config), "-n", "declined", input="n\n", cwd=project)
    assert proc.returncode == 1 and b"Run not submitted." in proc.stdout
    assert run_of("declined") is None


def test_file_defaults_to_dstack_yml_and_dash_reads_stdin(config, project):
    (project / ".dstack.yml").write_text(config.read_text())
    assert dstack("apply", "-y", "-n", "default-file", cwd=project).returncode == 0
    assert run_of("default-file")["status"] == "done"
    refused = dstack("apply", "-f", "-", input=config.read_text(), cwd=project)
    assert refused.returncode == 1
    assert "reads the configuration from stdin" in refused.stderr and "add -y" in refused.stderr
    piped = dstack("apply", "-f", "-", "-y", "-n", "from-stdin", input=config.read_text(),
                   cwd=project)  # fmt: skip
    assert piped.returncode == 0, piped.stderr
    assert run_of("from-stdin")["status"] == "done"


def test_the_older_run_form_passes_every_word_after_the_file(config, project):
    proc = dstack("run", ".", "-f", str(config), "-y", "--train_batch_size=1", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert b"args=--train_batch_size=1 name=echo" in proc.stdout


def test_fleet_flag_restricts_the_run_to_fleets_that_exist(config, project):
    proc = dstack("apply", "-f", str(config), "-y", "--fleet", "f1", cwd=project)
    assert proc.returncode == 1
    (line,) = proc.stderr.splitlines()
    assert line.endswith("fleets: f1: no such fleet; `dstack fleet` lists fleets"), line
    assert ps_json("-a") == {}


def test_requirement_and_policy_flags_show_in_the_plan(config, project):
    proc = dstack(
        "apply", "-f", str(config), "--dry-run", "--gpu", "A100:8", "--memory", "64GB..",
        "--max-duration", "2h", "--retry-duration", "30m", "--spot-policy", "auto",
        "--idle-duration", "off", cwd=project,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    props = _properties(proc)
    assert props["Resources"] == "1..xCPU, 64GB.., 8xA100, 1GB.. (disk)"
    assert props["Max duration"] == "2h"
    assert props["Retry"] == "no-capacity, interruption, error (30m)"
    assert props["Spot policy"] == "auto"
    assert props["Idle duration"] == "off"
    both = dstack("apply", "-f", str(config), "--spot", "--spot-policy", "auto", cwd=project)
    assert both.returncode == 1 and "give one spot policy at most" in both.stderr


def _properties(proc) -> dict[str, str]:
    """The plan's property table (the first nine lines) as {name: value}."""
    return {
        line.split("  ")[0].strip(): line.strip().split("  ", 1)[-1].strip()
        for line in proc.stdout.decode().splitlines()[:9]
    }


def test_cpu_disk_and_retry_flags_override_the_file(project):
    path = project / "retrying.dstack.yml"
    path.write_text(TASK_TEMPLATE.format(name="retrying", commands="  - echo hi") + "retry: true\n")
    proc = dstack("apply", "-f", str(path), "--dry-run", "--cpu", "4..", "--disk", "100GB..",
                  cwd=project)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    props = _properties(proc)
    assert props["Resources"] == "4..xCPU, 1GB.., 100GB.. (disk)"
    assert props["Retry"] == "no-capacity, interruption, error (1h)"
    assert "100GB (disk)" in proc.stdout.decode().split("PRICE", 1)[1].splitlines()[1]
    proc = dstack("apply", "-f", str(path), "--dry-run", "--no-retry", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert _properties(proc)["Retry"] == "no"


def test_retry_flag_turns_retry_on(config, project):
    proc = dstack("apply", "-f", str(config), "--dry-run", "--retry", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert _properties(proc)["Retry"] == "no-capacity, interruption, error (1h)"


def test_no_profile_ignores_the_default_profile(config, project):
    (project / ".dstack").mkdir()
    (project / ".dstack" / "profiles.yml").write_text(
        "profiles:\n  - name: long\n    default: true\n    max_duration: 3h\n"
    )
    with_profile = dstack("apply", "-f", str(config), "--dry-run", cwd=project)
    assert with_profile.returncode == 0, with_profile.stderr
    assert _properties(with_profile)["Max duration"] == "3h"
    without = dstack("apply", "-f", str(config), "--dry-run", "--no-profile", cwd=project)
    assert without.returncode == 0, without.stderr
    assert _properties(without)["Max duration"] == "off"
    both = dstack("apply", "-f", str(config), "--profile", "long", "--no-profile", cwd=project)
    assert both.returncode == 1 and "give one of them" in both.stderr


def test_verbose_shows_up_to_fifty_offers(config, project):
    quiet = dstack("apply", "-f", str(config), "--dry-run", cwd=project)
    verbose = dstack("apply", "-f", str(config), "--dry-run", "-v", cwd=project)
    assert quiet.returncode == 0 and verbose.returncode == 0, verbose.stderr
    assert b"Shown 3 of " in quiet.stdout
    assert b"Shown 50 of " in verbose.stdout


def test_version():
    proc = dstack("--version")
    assert proc.returncode == 0 and proc.stdout.decode().startswith("fleetstack ")
