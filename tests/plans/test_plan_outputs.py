"""`dstack plan` / `apply --dry-run` outputs through the real CLI: the JSON validates against
the published schema, exit codes tell no-change / change / error apart, Markdown keeps its
summary when trimmed, and no output format shows a secret."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path

import jsonschema
import pytest

from .conftest import applied, fleet_file

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
TASK = (
    "type: task\nname: {name}\nbackends: [aws]\ncommands: [python train.py]\n"
    "resources:\n  gpu: A10G\n"
)


def test_the_published_schema_is_the_committed_one_and_plans_validate_against_it(
    recording_cli, tmp_path
):
    published = recording_cli("schema", "--plan")
    schema = json.loads(published.stdout)
    assert schema == json.loads((REPO / "docs" / "plan.schema.json").read_text())
    config = fleet_file(tmp_path, nodes="1")
    applied(recording_cli, "-f", str(config), "-y")
    fleet_file(tmp_path, nodes="2")
    shutil.copytree(EXAMPLES, tmp_path / "examples", ignore=shutil.ignore_patterns("ci"))

    result = recording_cli("plan", "-f", str(tmp_path), "--json")

    document = json.loads(result.stdout)
    jsonschema.validate(document, schema)
    by_name = {c["name"]: c for c in document["configurations"]}
    assert by_name["rec"]["action"] == "update"
    assert by_name["my-aws-fleet"]["action"] == "create"
    instance = next(
        r
        for r in by_name["my-aws-fleet"]["resource_plan"]["resources"]
        if r["type"] == "aws:ec2/instance:Instance"
    )
    assert instance["inputs"]["instanceType"] == by_name["my-aws-fleet"]["chosen_offer"]["instance"]
    assert instance["inputs"]["userData"].startswith("#cloud-config")  # the boot script, readable
    assert document["summary"]["configurations"] == len(document["configurations"])


def test_exit_codes_no_change_change_and_an_error_that_never_looks_like_a_change(
    recording_cli, tmp_path
):
    config = fleet_file(tmp_path, nodes="1")
    applied(recording_cli, "-f", str(config), "-y")
    unchanged = recording_cli("plan", "-f", str(config), "--detailed-exitcode")
    task = tmp_path / "train.dstack.yml"
    task.write_text(TASK.format(name="train"))
    changed = recording_cli("plan", "-f", str(config), "-f", str(task), "--detailed-exitcode")
    bad = tmp_path / "bad.dstack.yml"
    bad.write_text("type: task\ncommands: [\n")
    with_error = recording_cli(
        "plan", "-f", str(task), "-f", str(bad), "--detailed-exitcode", "--json"
    )

    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert with_error.returncode == 1
    errors = [c for c in json.loads(with_error.stdout)["configurations"] if c["error"]]
    assert [Path(c["configuration_path"]).name for c in errors] == ["bad.dstack.yml"]
    assert "bad.dstack.yml" in with_error.stderr and "Traceback" not in with_error.stderr


@pytest.mark.parametrize(
    "text, said",
    [
        ("type: fleet\nname: xx\nnodes: [1\n", "bad.dstack.yml"),
        ("type: fleet\nname: xx\nnodes: 1\nbackends: [nosuchcloud]\n", "nosuchcloud"),
    ],
    ids=["bad-yaml", "unknown-backend"],
)
def test_configuration_errors_exit_1(recording_cli, tmp_path, text, said):
    bad = tmp_path / "bad.dstack.yml"
    bad.write_text(text)

    result = recording_cli("plan", "-f", str(bad), "--detailed-exitcode")

    assert result.returncode == 1
    assert said in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "failure",
    [
        "error: no credentials: could not load AWS credentials (aws:profile default)",
        "error: failed to load plugin aws: plugin not found",
    ],
    ids=["missing-credentials", "pulumi-failure"],
)
def test_a_state_compared_plan_that_fails_exits_1(recording_cli, tmp_path, failure):
    config = fleet_file(tmp_path, nodes="1")
    applied(recording_cli, "-f", str(config), "-y")
    fleet_file(tmp_path, nodes="2")  # an update is previewed against the stack's state
    recording_cli.engine.fail_preview(failure)

    result = recording_cli("plan", "-f", str(config), "--detailed-exitcode")

    assert result.returncode == 1
    assert failure.split(":")[1].strip() in result.stderr
    assert "Traceback" not in result.stderr


def test_markdown_over_the_limit_keeps_the_summary_and_says_what_was_cut(recording_cli, tmp_path):
    folder = tmp_path / "fleets"
    folder.mkdir()
    for n in range(30):
        (folder / f"gpu-{n:02}.dstack.yml").write_text(
            f"type: fleet\nname: gpu-{n:02}\nbackends: [aws]\nnodes: 2\nresources:\n  gpu: T4\n"
        )

    result = recording_cli("plan", "-f", str(folder), "--format", "markdown", timeout=300)

    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert len(text) <= 65_000
    summary = text[: text.index("<details>")]
    assert "**Total: 30 configurations (30 with changes): 120 to create" in summary
    assert all(
        f"`{folder}/gpu-{n:02}.dstack.yml` | fleet | gpu-{n:02} |" in summary for n in range(30)
    )
    assert "Trimmed to stay under GitHub's comment limit" in text


def test_no_output_format_shows_a_secret(recording_cli, tmp_path):
    planted = {"-e": "planted-e-value-1234", "env": "planted-env-value-5678",
               "passphrase": "planted-passphrase-9012"}  # fmt: skip
    task = tmp_path / "train.dstack.yml"
    task.write_text(TASK.format(name="train") + "env:\n  - HF_TOKEN\n  - LEVEL=${{ env.LEVEL }}\n")
    recording_cli.env.update(HF_TOKEN=planted["env"], LEVEL=planted["env"],
                             PULUMI_CONFIG_PASSPHRASE=planted["passphrase"])  # fmt: skip
    base = ["plan", "-f", str(task), "-e", f"API_KEY={planted['-e']}"]
    saved = tmp_path / "plan.json"

    outputs = {
        fmt: recording_cli(*base, "--format", fmt, "-v") for fmt in ("text", "json", "markdown")
    }
    outputs["out"] = recording_cli(*base, "--out", str(saved))

    for fmt, result in outputs.items():
        assert result.returncode == 0, (fmt, result.stderr)
        text = result.stdout + result.stderr + (saved.read_text() if fmt == "out" else "")
        for value in planted.values():
            assert value not in text, f"{fmt} shows a secret"
            assert base64.b64encode(value.encode()).decode() not in text, f"{fmt}: base64"


def test_a_dry_run_leaves_the_database_and_the_state_backend_byte_identical(
    recording_cli, tmp_path
):
    config = fleet_file(tmp_path, nodes="1")
    applied(recording_cli, "-f", str(config), "-y")
    fleet_file(tmp_path, nodes="2", extra="placement: cluster\n")
    home = Path(os.environ["DSTACK_HOME"])
    stacks = recording_cli.engine.state_dir
    before = _tree(home, skip=("cache",)), _tree(stacks, skip=("calls.jsonl",))
    assert "state.db" in before[0] and recording_cli.engine.stacks() == ["main-rec"]

    for args in (["plan", "-f", str(config)], ["apply", "-f", str(config), "--dry-run", "--json"]):
        result = recording_cli(*args)
        assert result.returncode == 0, result.stderr
        assert "must be re-created" in result.stdout or '"recreate"' in result.stdout

    after = _tree(home, skip=("cache",)), _tree(stacks, skip=("calls.jsonl",))
    assert sorted(after[0]) == sorted(before[0])
    assert [k for k in after[0] if after[0][k] != before[0][k]] == []
    assert after == before


def test_a_dry_run_in_a_fresh_home_creates_nothing_but_caches(recording_cli, tmp_path):
    home = Path(os.environ["DSTACK_HOME"])
    config = fleet_file(tmp_path, nodes="2")
    before = _tree(home, skip=("cache",))

    result = recording_cli("plan", "-f", str(config), "-f", str(EXAMPLES / "qlora.dstack.yml"))

    assert result.returncode == 0, result.stderr
    assert _tree(home, skip=("cache",)) == before  # no state.db, key, passphrase or lock
    assert recording_cli.engine.stacks() == []


def _tree(root: Path, skip: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every file under `root` and its bytes, but those named (or under a folder named) in
    `skip`."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not set(p.relative_to(root).parts) & set(skip)
    }
