"""`dstack apply` takes `- NAME` env entries from the caller's environment at submit."""

from __future__ import annotations

from .conftest import TASK_TEMPLATE, dstack, ps_json, run_of


def test_an_unset_name_stops_the_apply_before_anything_is_created(project, monkeypatch):
    monkeypatch.delenv("FLEETSTACK_TEST_HF_TOKEN", raising=False)
    config = project / "needs.dstack.yml"
    commands = '  - echo "$FLEETSTACK_TEST_HF_TOKEN"'
    config.write_text(TASK_TEMPLATE.format(name="needs", commands=commands) + _ENV)
    proc = dstack("apply", "-f", str(config), "-y", "-d", cwd=project)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"{config}:10: env[0]: FLEETSTACK_TEST_HF_TOKEN is not set in your environment: "
        "export FLEETSTACK_TEST_HF_TOKEN=... before `dstack apply`, or write "
        "FLEETSTACK_TEST_HF_TOKEN=VALUE in env"
    ]
    assert ps_json("-a") == {}
    # --dry-run plans without it, as validate does
    assert dstack("apply", "-f", str(config), "--dry-run", cwd=project).returncode == 0


def test_a_set_name_reaches_the_job_and_its_references(project, monkeypatch):
    monkeypatch.setenv("FLEETSTACK_TEST_HF_TOKEN", "hf_from_the_shell")
    config = project / "has.dstack.yml"
    commands = '  - echo "job sees $FLEETSTACK_TEST_HF_TOKEN, ${{ env.FLEETSTACK_TEST_HF_TOKEN }}"'
    config.write_text(TASK_TEMPLATE.format(name="has", commands=commands) + _ENV)
    proc = dstack("apply", "-f", str(config), "-y", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert b"job sees hf_from_the_shell, hf_from_the_shell\n" in proc.stdout
    assert run_of("has")["status"] == "done"


_ENV = "env:\n  - FLEETSTACK_TEST_HF_TOKEN\n"
