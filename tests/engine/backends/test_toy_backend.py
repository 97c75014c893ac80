"""A backend defined in the test folder plugs in through the registry alone: `dstack offer`,
the plan of `dstack apply --dry-run`, `-b`, `backends:` and config.yml all see it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fleetstack.cli.main import app
from fleetstack.engine.backends import registry
from typer.testing import CliRunner

runner = CliRunner()


@pytest.fixture(autouse=True)
def configured(tmp_path, monkeypatch):
    home = Path(os.environ["DSTACK_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.yml").write_text("backends:\n  - type: aws\n")  # local off by default
    monkeypatch.chdir(tmp_path)


def test_dstack_offer_lists_the_toy_backends_offers(toy_backend):
    result = runner.invoke(app, ["offer", "-b", "toy", "--json"])
    assert result.exit_code == 0, result.output
    offers = json.loads(result.output)["offers"]
    assert [(o["backend"], o["instance"], o["price"]) for o in offers] == [
        ("toy", "toy.small", 0.011),
        ("toy", "toy.a10", 0.052),
    ]
    assert not any(o["backend_configured"] for o in offers)


def test_toy_rows_go_through_the_shared_matcher_with_the_catalog(toy_backend):
    result = runner.invoke(app, ["offer", "--gpu", "A10:24GB", "--json"])
    assert result.exit_code == 0, result.output
    offers = json.loads(result.output)["offers"]
    assert offers[0]["backend"] == "toy" and offers[0]["instance"] == "toy.a10"
    assert "toy.small" not in [o["instance"] for o in offers]  # no GPU: filtered out


def test_the_dry_run_plan_shows_toy_offers_and_says_it_cannot_be_provisioned(toy_backend, tmp_path):
    conf = tmp_path / "train.dstack.yml"
    conf.write_text(
        "type: task\nname: train\ncommands: [python train.py]\nbackends: [toy]\n"
        "resources:\n  gpu: A10\n"
    )
    result = runner.invoke(app, ["apply", "-f", str(conf), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "toy.a10" in result.output and "toyland" in result.output
    assert "toy cannot be provisioned yet" in result.output


def test_config_yml_accepts_a_registered_backend_only_while_registered(toy_backend):
    home = Path(os.environ["DSTACK_HOME"])
    (home / "config.yml").write_text("backends:\n  - type: toy\n")
    result = runner.invoke(app, ["offer", "--json"])
    assert result.exit_code == 0, result.output
    offers = json.loads(result.output)["offers"]
    assert {o["backend"] for o in offers if o["backend_configured"]} == {"toy"}
    registry.unregister("toy")
    try:
        result = runner.invoke(app, ["offer", "--json"])
        assert result.exit_code == 1 and "unknown backend 'toy'" in str(result.exception)
    finally:
        registry.register(toy_backend)


def test_without_the_toy_backend_b_toy_is_refused():
    result = runner.invoke(app, ["offer", "-b", "toy"])
    assert result.exit_code == 1
    assert "-b toy: unknown backend" in str(result.exception)
