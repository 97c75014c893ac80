"""load_configuration(): robustness on any input, env, interpolation, overrides."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fleetstack.engine.config import (
    FleetConfiguration,
    TaskConfiguration,
    apply_overrides,
    load_configuration,
)
from fleetstack.engine.errors import ConfigurationError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def write(tmp_path: Path, text: str | bytes, name: str = "x.dstack.yml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def error_of(path: Path, **kwargs) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        load_configuration(path, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("", "the file is empty"),
        ("# only a comment\n", "the file is empty"),
        ("- type: task\n", "top level is a list"),
        ("just a string\n", "top level is a string"),
        ("42\n", "top level is a int"),
        (b"\x00\x01\x02\xff binary", "binary file"),
        (b"\xff\xfe\xfa text", "not UTF-8"),
        ("type: task\ncommands: [x\n", "invalid YAML"),
        ("type: task\n---\ntype: service\n", "several YAML documents"),
        ("type: task\n  commands: [x]\n", "invalid YAML"),
        ("type: [task]\n", "unknown type"),
        ("type: preset\n", "does not support"),
        ("type: gateway\nregion: eu\n", "`backend` is required"),
        ("? [a, b]\n: c\n", "invalid YAML"),
        ("name: x\n", "`type` is missing"),
    ],
)
def test_bad_files_are_one_clear_error(tmp_path, content, fragment):
    error = error_of(write(tmp_path, content))
    assert fragment in str(error)
    assert error.file == str(tmp_path / "x.dstack.yml")


def test_yaml_syntax_error_has_line(tmp_path):
    error = error_of(write(tmp_path, "type: task\ncommands:\n  - a\n - b\n"))
    assert error.line == 4
    assert str(error).startswith(f"{tmp_path / 'x.dstack.yml'}:4: invalid YAML")


def test_missing_file_and_directory(tmp_path):
    assert "no such file" in str(error_of(tmp_path / "nope.dstack.yml"))
    assert "is a directory" in str(error_of(tmp_path))


def test_huge_file_is_refused_quickly(tmp_path):
    big = write(tmp_path, "type: task\ncommands:\n" + "  - echo hello world\n" * 260_000)
    assert big.stat().st_size > 5_000_000
    assert "MB" in str(error_of(big))


def test_deeply_nested_yaml_does_not_crash(tmp_path):
    error = error_of(write(tmp_path, "type: task\ncommands: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert error.file


def test_unknown_field_lists_fields_and_points_at_key(tmp_path):
    error = error_of(write(tmp_path, "type: fleet\nname: f1\nnodes: 1\nplacment: cluster\n"))
    assert error.line == 4
    assert error.path == "placment"
    assert "did you mean `placement`" in str(error)
    error = error_of(write(tmp_path, "type: fleet\nname: f1\nnodes: 1\ngpu: A100\n"))
    assert (error.path, error.line) == ("gpu", 4)
    assert "the fields of a fleet are " in str(error)
    assert "ssh_config" in str(error) and "resources" in str(error)


def test_unknown_nested_field(tmp_path):
    text = "type: task\ncommands: [x]\nretry:\n  on_events: [error]\n  durration: 1h\n"
    error = error_of(write(tmp_path, text))
    assert (error.path, error.line) == ("retry.durration", 5)
    assert "did you mean `duration`" in str(error)


def test_env_list_takes_values_from_the_callers_environment(tmp_path):
    path = write(
        tmp_path,
        "type: task\ncommands: [x]\nenv:\n  - HF_TOKEN\n  - MODE=fast\n  - EMPTY=\n",
    )
    loaded = load_configuration(path, environ={"HF_TOKEN": "hf_123"})
    assert loaded.configuration.env == {"HF_TOKEN": "hf_123", "MODE": "fast", "EMPTY": ""}
    assert loaded.env_required == []


def test_env_mapping_with_empty_value_takes_it_from_the_environment(tmp_path):
    path = write(tmp_path, "type: task\ncommands: [x]\nenv:\n  HF_TOKEN:\n  MODE: 2\n")
    loaded = load_configuration(path, environ={"HF_TOKEN": "t"})
    assert loaded.configuration.env == {"HF_TOKEN": "t", "MODE": "2"}
    error = error_of(path, environ={})
    assert (error.path, error.line) == ("env.HF_TOKEN", 4)
    assert "HF_TOKEN is not set" in str(error) and "export HF_TOKEN=" in str(error)


def test_without_environ_names_stay_unresolved_whatever_the_process_has(tmp_path, monkeypatch):
    monkeypatch.setenv("FLEETSTACK_TEST_TOKEN", "from-os")
    path = write(
        tmp_path,
        "type: task\nenv: [FLEETSTACK_TEST_TOKEN, MODE=x]\n"
        "commands:\n  - echo ${{ env.FLEETSTACK_TEST_TOKEN }} ${{ env.MODE }} ${{ env.OTHER }}\n",
    )
    loaded = load_configuration(path)
    assert loaded.configuration.env == {"FLEETSTACK_TEST_TOKEN": None, "MODE": "x"}
    assert loaded.configuration.commands == [
        "echo ${{ env.FLEETSTACK_TEST_TOKEN }} x ${{ env.OTHER }}"
    ]
    assert loaded.env_required == ["FLEETSTACK_TEST_TOKEN", "OTHER"]
    resolved = load_configuration(path, environ={"FLEETSTACK_TEST_TOKEN": "t", "OTHER": "o"})
    assert resolved.configuration.commands == ["echo t x o"]
    assert resolved.configuration.env == {"FLEETSTACK_TEST_TOKEN": "t", "MODE": "x"}
    error = error_of(path, environ={"FLEETSTACK_TEST_TOKEN": "t"})
    assert (error.path, error.line) == ("commands[0]", 4)
    assert "OTHER is not set in your environment" in str(error)


def test_run_args_env_and_secrets_interpolation(tmp_path):
    path = write(
        tmp_path,
        "type: task\n"
        "env:\n  - MODEL=llama\n  - TOKEN=${{ secrets.HF }}\n"
        "commands:\n"
        "  - python train.py ${{ run.args }}\n"
        "  - echo ${{ env.MODEL }} ${{env.USER_NAME}}\n"
        "  - echo $${{ run.args }} costs $$5\n",
    )
    loaded = load_configuration(
        path,
        run_args=["--lr", "1e-4", "--name", "my run"],
        environ={"USER_NAME": "ada"},
        secrets={"HF": "s3cret"},
    )
    configuration = loaded.configuration
    assert configuration.commands == [
        "python train.py --lr 1e-4 --name 'my run'",
        "echo llama ada",
        "echo ${{ run.args }} costs $$5",
    ]
    assert configuration.env["TOKEN"] == "s3cret"
    assert loaded.raw["commands"][0].endswith("'my run'")


def test_missing_secret_is_named(tmp_path):
    path = write(tmp_path, "type: task\ncommands: [x]\nenv:\n  - TOKEN=${{ secrets.HF }}\n")
    error = error_of(path, environ={})
    assert (error.path, error.line) == ("env.TOKEN", 4)
    assert "secrets.HF" in str(error)


def test_ports_are_not_read_as_base_60(tmp_path):
    path = write(tmp_path, "type: task\ncommands: [x]\nports: [3000:30, 8080:80]\n")
    ports = load_configuration(path).configuration.ports
    assert [(p.local_port, p.container_port) for p in ports] == [(3000, 30), (8080, 80)]


def test_models_and_defaults(tmp_path):
    task = load_configuration(write(tmp_path, "type: task\ncommands: [x]\n")).configuration
    assert isinstance(task, TaskConfiguration)
    assert (task.nodes, task.idle_duration, task.max_duration, task.spot_policy) == (
        1,
        300,
        None,
        None,
    )
    fleet = load_configuration(write(tmp_path, "type: fleet\nnodes: 1\n", "f.dstack.yml"))
    assert isinstance(fleet.configuration, FleetConfiguration)
    assert fleet.configuration.idle_duration == 3 * 86400
    assert fleet.configuration.node_count == 1


def test_every_field_has_a_description():
    from fleetstack.engine.config import CONFIGURATION_TYPES

    for model in CONFIGURATION_TYPES.values():
        missing = [n for n, f in model.model_fields.items() if not f.description]
        assert not missing, f"{model.__name__}: {missing}"


def test_apply_overrides_win_and_validate(tmp_path):
    path = write(tmp_path, "type: task\ncommands: [x]\nspot_policy: spot\nmax_price: 1\n")
    configuration = load_configuration(path).configuration
    overridden = apply_overrides(
        configuration, spot_policy="auto", backends=["aws"], max_price=None, idle_duration="1h"
    )
    assert overridden.spot_policy == "auto"
    assert overridden.backends == ["aws"]
    assert overridden.max_price == 1
    assert overridden.idle_duration == 3600
    assert configuration.spot_policy == "spot"  # the original is untouched
    with pytest.raises(ConfigurationError, match="--spot-policy"):
        apply_overrides(configuration, spot_policy="cheap")
    with pytest.raises(ConfigurationError, match="does not apply"):
        apply_overrides(configuration, placement="cluster")


@pytest.mark.parametrize("example", sorted(EXAMPLES.glob("*.dstack.yml")), ids=lambda p: p.name)
def test_examples_load(example):
    environ = {**os.environ, "HF_TOKEN": "hf_test"}
    loaded = load_configuration(example, environ=environ, secrets={"HF_TOKEN": "s"})
    assert loaded.configuration.name


def test_hello_example_fits_any_laptop():
    hello = load_configuration(EXAMPLES / "hello.dstack.yml").configuration
    assert hello.image is None
    assert hello.name == "hello"
    assert hello.resources.normalized()["cpu"]["count"] == {"min": 1, "max": None}
    assert hello.resources.normalized()["memory"] == {"min": 1, "max": None}
    assert hello.resources.normalized()["disk"] == {"size": {"min": 1, "max": None}}
    assert any("Hello from $DSTACK_RUN_NAME" in c for c in hello.commands)


def test_fleet_aws_example():
    fleet = load_configuration(EXAMPLES / "fleet-aws.dstack.yml").configuration
    assert (fleet.name, fleet.backends, fleet.nodes, fleet.placement) == (
        "my-aws-fleet",
        ["aws"],
        2,
        "cluster",
    )
    assert fleet.resources.gpu.name == ["A10G", "L4"]
    assert (fleet.spot_policy, fleet.idle_duration) == ("auto", 3600)
