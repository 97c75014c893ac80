"""`dstack schema`: a JSON Schema generated from the models that every example satisfies."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from fleetstack.cli.main import app
from typer.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "examples").glob("*.dstack.yml"))
CORPUS = yaml.safe_load((REPO / "tests" / "engine" / "config" / "corpus" / "valid.yml").read_text())


@pytest.fixture(scope="module")
def schema() -> dict:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.fixture(scope="module")
def validator(schema) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema)


def test_schema_is_valid_json_schema(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"].endswith("2020-12/schema")
    types = {branch["$ref"].rsplit("/", 1)[1] for branch in schema["oneOf"]}
    assert types == {
        "TaskConfiguration",
        "ServiceConfiguration",
        "DevEnvironmentConfiguration",
        "FleetConfiguration",
        "GatewayConfiguration",
        "VolumeConfiguration",
    }


def test_every_field_of_every_model_has_a_description(schema):
    undescribed = [
        f"{name}.{field}"
        for name, model in schema["$defs"].items()
        for field, prop in model.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undescribed == []


def test_dstack_documentation_configurations_satisfy_the_schema(validator):
    verdicts = yaml.safe_load((REPO / "tests" / "corpus" / "verdicts.yml").read_text())
    failures = []
    for file in sorted((REPO / "tests" / "corpus" / "docs").glob("*.yml")):
        for case in yaml.safe_load(file.read_text()):
            if not verdicts[case["name"]]["valid"]:
                continue
            errors = list(validator.iter_errors(yaml.safe_load(case["yaml"])))
            if errors:
                failures.append(f"{case['name']}: {errors[0].message[:120]}")
    assert failures == []


def test_fields_carry_descriptions(schema):
    task = schema["$defs"]["TaskConfiguration"]["properties"]
    assert all(prop.get("description") for prop in task.values())
    # `resources` is the ResourcesSpec model, whose own fields are described too
    assert task["resources"]["$ref"] == "#/$defs/ResourcesSpec"
    resources = schema["$defs"]["ResourcesSpec"]["properties"]
    assert set(resources) == {"cpu", "memory", "shm_size", "gpu", "disk"}
    assert all(prop.get("description") for prop in resources.values())
    assert "A100:80GB:2" in resources["gpu"]["description"]


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_satisfies_the_schema(validator, example):
    validator.validate(yaml.safe_load(example.read_text()))


@pytest.mark.parametrize("case", CORPUS, ids=[c["name"] for c in CORPUS])
def test_corpus_configurations_satisfy_the_schema(validator, case):
    validator.validate(yaml.safe_load(case["yaml"]))


def test_schema_rejects_unknown_fields_and_types(validator):
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"type": "task", "commands": ["x"], "comands": []})
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({"type": "job"})


def test_compact_output_is_one_line():
    result = CliRunner().invoke(app, ["schema", "--compact"])
    assert result.exit_code == 0
    assert len(result.output.strip().splitlines()) == 1
