"""Dozens of configurations from dstack's docs against what they must normalize to or say."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fleetstack.engine.config import load_configuration
from fleetstack.engine.errors import ConfigurationError

CORPUS = Path(__file__).parent / "corpus"
VALID = yaml.safe_load((CORPUS / "valid.yml").read_text())
INVALID = yaml.safe_load((CORPUS / "invalid.yml").read_text())
SECRETS = {"REGISTRY_TOKEN": "token"}


def _load(tmp_path: Path, text: str, environ: dict[str, str] | None = None):
    """Without `environ` as `dstack validate` loads (validity never depends on the caller's
    environment); with it as a submit does."""
    path = tmp_path / "case.dstack.yml"
    path.write_text(text)
    return path, load_configuration(path, secrets=SECRETS, environ=environ)


def _assert_subset(expected: Any, actual: Any, where: str = "") -> None:
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: expected a mapping, got {actual!r}"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing in {actual!r}"
            _assert_subset(value, actual[key], f"{where}.{key}")
    else:
        assert actual == expected, f"{where}: expected {expected!r}, got {actual!r}"


def test_corpus_is_large_enough():
    assert len(VALID) >= 40
    assert len(INVALID) >= 30


@pytest.mark.parametrize("case", VALID, ids=[c["name"] for c in VALID])
def test_valid_configuration_normalizes_as_dstack(tmp_path, case):
    _, loaded = _load(tmp_path, case["yaml"])
    configuration = loaded.configuration
    if "resources" in case:
        _assert_subset(case["resources"], configuration.resources.normalized(), "resources")
    if "fields" in case:
        _assert_subset(case["fields"], configuration.model_dump(), "")


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_invalid_configuration_names_file_path_and_line(tmp_path, case):
    with pytest.raises(ConfigurationError) as info:
        _load(tmp_path, case["yaml"], case.get("environ"))
    error = info.value
    message = str(error)
    assert error.file and error.file.endswith("case.dstack.yml")
    assert message.startswith(str(tmp_path / "case.dstack.yml"))
    if "path" in case:
        assert error.path == case["path"], message
        assert f": {case['path']}: " in message
    if "line" in case:
        assert error.line == case["line"], message
        assert f"case.dstack.yml:{case['line']}: " in message
    if "contains" in case:
        assert case["contains"] in message
    assert "Traceback" not in message and "pydantic" not in message.lower()
