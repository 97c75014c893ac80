"""`dstack validate` as a user runs it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fleetstack.cli.main import app
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
DSTACK = Path(sys.executable).parent / "dstack"
runner = CliRunner()


def validate(*args: str, cwd: Path | None = None):
    old = Path.cwd()
    try:
        if cwd:
            os.chdir(cwd)
        return runner.invoke(app, ["validate", *args])
    finally:
        os.chdir(old)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_ok_line_per_file_and_exit_0(tmp_path):
    a = write(tmp_path, "a.dstack.yml", "type: task\nname: a1\ncommands: [x]\n")
    b = write(tmp_path, "b.dstack.yml", "type: fleet\nname: b1\nnodes: 2\n")
    result = validate("-f", str(a), "-f", str(b))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines == [
        f"{a}: OK (task a1: 2..xCPU, 8GB.., 100GB.. (disk))",
        f"{b}: OK (fleet b1: 1..xCPU, 0GB..)",
    ]


def test_errors_name_file_line_path_and_exit_1(tmp_path):
    good = write(tmp_path, "good.dstack.yml", "type: task\ncommands: [x]\n")
    bad = write(
        tmp_path, "bad.dstack.yml", "type: task\ncommands: [x]\nresources:\n  gpu: 24GB:-1\n"
    )
    result = validate("-f", str(good), "-f", str(bad), "-f", str(tmp_path / "missing.yml"))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 3
    assert lines[0].endswith("OK (task: 2..xCPU, 8GB.., 100GB.. (disk))")
    assert lines[1].startswith(f"{bad}:4: resources.gpu: a count cannot be negative")
    assert lines[2] == f"{tmp_path / 'missing.yml'}: no such file: configuration not found"


def test_json_lines_in_dstacks_structure(tmp_path):
    a = write(
        tmp_path,
        "a.dstack.yml",
        "type: task\nname: train\ncommands: [x]\n"
        "resources:\n  gpu: A100:40GB..80GB:2..8\n  disk: 200GB..1TB\n",
    )
    b = write(
        tmp_path,
        "b.dstack.yml",
        "type: task\ncommands: [x]\nresources:\n  gpu: 24GB..80GB:1..2\n  cpu: 8..\n"
        "  memory: 64GB..\n",
    )
    c = write(tmp_path, "c.dstack.yml", "type: task\ncomands: [x]\n")
    result = validate("-f", str(a), "-f", str(b), "-f", str(c), "--json")
    assert result.exit_code == 1
    first, second, third = (json.loads(line) for line in result.output.splitlines())
    assert set(first) == {
        "file", "ok", "type", "name", "resources", "env_required", "secrets_required",
        "error", "error_path", "error_line", "not_supported_yet",
    }  # fmt: skip
    assert (first["ok"], first["type"], first["name"], first["error"]) == (
        True,
        "task",
        "train",
        None,
    )
    res = first["resources"]
    assert res["gpu"]["name"] == ["A100"]
    assert res["gpu"]["memory"] == {"min": 40, "max": 80}
    assert res["gpu"]["count"] == {"min": 2, "max": 8}
    assert res["disk"] == {"size": {"min": 200, "max": 1024}}
    assert res["cpu"] == {"arch": None, "count": {"min": 2, "max": None}}
    assert res["memory"] == {"min": 8, "max": None}
    res = second["resources"]
    assert res["gpu"]["memory"] == {"min": 24, "max": 80}
    assert res["gpu"]["count"] == {"min": 1, "max": 2}
    assert res["cpu"]["count"] == {"min": 8, "max": None}
    assert res["memory"] == {"min": 64, "max": None}
    assert third["ok"] is False
    assert third["resources"] is None
    assert "did you mean `commands`" in third["error"]
    assert third["error"].startswith(f"{c}:2: comands:")


def test_default_file_is_dstack_yml_in_cwd(tmp_path):
    write(tmp_path, ".dstack.yml", "type: dev-environment\nide: vscode\n")
    result = validate(cwd=tmp_path)
    assert result.exit_code == 0
    assert result.output.startswith(".dstack.yml: OK (dev-environment")
    empty = tmp_path / "empty"
    empty.mkdir()
    result = validate(cwd=empty)
    assert result.exit_code == 1
    assert result.output.strip() == ".dstack.yml: no such file: configuration not found"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "the file is empty"),
        (b"- a\n- b\n", "top level is a list"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary file"),
        (b"type: job\n", "unknown type"),
        (b"type: task\ncommands: [x]\nfoo: 1\n", "unknown field `foo`"),
    ],
)
def test_any_yaml_gives_one_line_no_traceback(tmp_path, content, fragment):
    path = tmp_path / "x.dstack.yml"
    path.write_bytes(content)
    result = validate("-f", str(path))
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert fragment in result.output
    assert len(result.output.splitlines()) == 1


def test_secrets_validate_as_placeholders_and_run_args_are_empty(tmp_path):
    path = write(
        tmp_path,
        "s.dstack.yml",
        "type: task\nenv:\n  - TOKEN=${{ secrets.HF_TOKEN }}\n"
        "commands:\n  - python train.py ${{ run.args }}\n",
    )
    assert validate("-f", str(path)).exit_code == 0


def test_examples_validate_with_an_empty_environment(tmp_path):
    """`env -i PATH=$PATH dstack validate -f examples/*.dstack.yml`: a `- HF_TOKEN` entry is
    resolved at apply, never needed to validate; --json names it for CI."""
    files = sorted((REPO / "examples").glob("*.dstack.yml"))
    args = ["-f", *map(str, files)]  # as the shell expands `-f examples/*.dstack.yml`
    env = {"PATH": os.environ["PATH"], "DSTACK_HOME": str(tmp_path / ".dstack")}
    proc = subprocess.run(
        [str(DSTACK), "validate", *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(proc.stdout.splitlines()) == len(files) >= 7
    axolotl = str(REPO / "examples" / "axolotl.dstack.yml")
    assert f"{axolotl}: OK (task axolotl-train: " in proc.stdout
    assert "needs HF_TOKEN at apply" in proc.stdout
    reports = subprocess.run(
        [str(DSTACK), "validate", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    ).stdout.splitlines()
    required = {json.loads(line)["file"]: json.loads(line)["env_required"] for line in reports}
    assert required[axolotl] == ["HF_TOKEN"]
    assert required[str(REPO / "examples" / "hello.dstack.yml")] == []


def test_validity_never_depends_on_the_callers_environment(tmp_path, monkeypatch):
    path = write(
        tmp_path,
        "e.dstack.yml",
        "type: task\nenv:\n  WANDB_API_KEY:\n  NGC_API_KEY:\ncommands:\n  - echo ${{ env.X }}\n",
    )
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    without = validate("-f", str(path), "--json")
    monkeypatch.setenv("WANDB_API_KEY", "k")
    monkeypatch.setenv("X", "x")
    assert validate("-f", str(path), "--json").output == without.output
    report = json.loads(without.output)
    assert (without.exit_code, report["ok"]) == (0, True), without.output
    assert report["env_required"] == ["WANDB_API_KEY", "NGC_API_KEY", "X"]


def test_installed_command_in_a_subprocess(tmp_path):
    good = write(tmp_path, "a.dstack.yml", "type: task\ncommands: [x]\nresources:\n  gpu: H100:8\n")
    bad = tmp_path / "junk.dstack.yml"
    bad.write_bytes(os.urandom(256) + b"\x00")
    env = {**os.environ, "HOME": str(tmp_path), "DSTACK_HOME": str(tmp_path / ".dstack")}
    proc = subprocess.run(
        [str(DSTACK), "validate", "-f", str(good), "-f", str(bad), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    first, second = (json.loads(line) for line in proc.stdout.splitlines())
    assert first["ok"] and first["resources"]["gpu"]["count"] == {"min": 8, "max": 8}
    assert not second["ok"] and "binary" in second["error"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("schedule:\n  cron: '0 * * * *'\n", "schedule"),
        ("fleets: [other-team/my-fleet]\n", "fleets"),
        ("volumes: ['my-vol:/data']\n", "volumes"),
    ],
)
def test_fields_not_run_yet_validate_and_apply_refuses_them_in_one_line(tmp_path, extra, field):
    path = write(tmp_path, "t.dstack.yml", f"type: task\nname: later\ncommands: [echo hi]\n{extra}")
    env = {**os.environ, "HOME": str(tmp_path), "DSTACK_HOME": str(tmp_path / ".dstack")}
    checked = subprocess.run(
        [str(DSTACK), "validate", "-f", str(path), "--json"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    report = json.loads(checked.stdout)
    assert (checked.returncode, report["ok"], report["not_supported_yet"]) == (0, True, [field])
    applied = subprocess.run(
        [str(DSTACK), "apply", "-f", str(path), "-y", "-b", "local", "-d"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    output = applied.stdout + applied.stderr
    assert applied.returncode != 0, output
    assert f"{path}: {field}: valid, but fleetstack cannot " in output
    assert f"yet: remove {field} to apply" in output
    assert "Traceback" not in output
    planned = subprocess.run(
        [str(DSTACK), "apply", "-f", str(path), "--dry-run", "-b", "local"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert re.search(rf"Not supported yet +{field}\b", planned.stdout), planned.stdout
    listed = subprocess.run(
        [str(DSTACK), "ps", "-a"], capture_output=True, text=True, env=env, timeout=60
    )
    assert "later" not in listed.stdout  # nothing was created


def test_a_gateway_validates_and_apply_says_it_is_not_created_yet(tmp_path):
    path = write(tmp_path, "gw.dstack.yml", "type: gateway\nbackend: aws\nregion: eu-west-1\n")
    env = {**os.environ, "HOME": str(tmp_path), "DSTACK_HOME": str(tmp_path / ".dstack")}
    checked = subprocess.run(
        [str(DSTACK), "validate", "-f", str(path)], capture_output=True, text=True, env=env
    )
    assert checked.returncode == 0 and "OK (gateway" in checked.stdout, checked.stdout
    applied = subprocess.run(
        [str(DSTACK), "apply", "-f", str(path), "-y"], capture_output=True, text=True, env=env
    )
    output = (applied.stdout + applied.stderr).strip()
    assert applied.returncode != 0
    assert output == (
        f"{path}:1: type: a valid gateway, but fleetstack does not create gateways yet: "
        "nothing was done"
    )
