"""profiles.yml: merged under the configuration's own policies; CLI flags override both."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleetstack.engine.config import apply_overrides, load_configuration
from fleetstack.engine.errors import ConfigurationError


def project(tmp_path: Path, profiles: str, configuration: str) -> Path:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".dstack").mkdir()
    (tmp_path / ".dstack" / "profiles.yml").write_text(profiles)
    path = tmp_path / "train.dstack.yml"
    path.write_text(configuration)
    return path


def user_profiles(text: str) -> Path:
    from fleetstack.engine.paths import dstack_home

    home = dstack_home()
    home.mkdir(parents=True, exist_ok=True)
    (home / "profiles.yml").write_text(text)
    return home / "profiles.yml"


PROFILES = """\
profiles:
  - name: cheap
    default: true
    spot_policy: auto
    max_price: 1.5
    backends: [aws, gcp]
    max_duration: 1d
    idle_duration: 10m
    retry: true
  - name: eu
    regions: [eu-west-1]
    spot_policy: on-demand
"""


def test_default_profile_fills_what_the_configuration_leaves_out(tmp_path):
    path = project(tmp_path, PROFILES, "type: task\ncommands: [x]\nspot_policy: spot\n")
    loaded = load_configuration(path)
    c = loaded.configuration
    assert loaded.profile == "cheap"
    assert c.spot_policy == "spot"  # the configuration wins
    assert (c.max_price, c.backends, c.max_duration, c.idle_duration) == (
        1.5,
        ["aws", "gcp"],
        86400,
        600,
    )
    assert c.retry is not None and c.retry.duration == 3600


def test_named_profile_and_cli_flags_on_top(tmp_path):
    path = project(tmp_path, PROFILES, "type: task\ncommands: [x]\n")
    c = load_configuration(path, profile="eu").configuration
    assert (c.regions, c.spot_policy, c.max_price) == (["eu-west-1"], "on-demand", None)
    c = apply_overrides(c, spot_policy="spot", regions=["us-east-1"])
    assert (c.regions, c.spot_policy) == (["us-east-1"], "spot")


def test_unknown_profile_lists_the_known_ones(tmp_path):
    path = project(tmp_path, PROFILES, "type: task\ncommands: [x]\n")
    with pytest.raises(ConfigurationError, match="cheap, eu"):
        load_configuration(path, profile="gpu")


def test_user_profiles_apply_and_project_ones_win(tmp_path):
    user_profiles("profiles:\n  - name: mine\n    default: true\n    max_price: 9\n")
    path = tmp_path / "a.dstack.yml"
    (tmp_path / ".git").mkdir()
    path.write_text("type: task\ncommands: [x]\n")
    assert load_configuration(path).configuration.max_price == 9
    (tmp_path / ".dstack").mkdir()
    (tmp_path / ".dstack" / "profiles.yml").write_text(PROFILES)
    assert load_configuration(path).configuration.max_price == 1.5


def test_configuration_legacy_idle_keys_beat_profile_idle_duration(tmp_path):
    path = project(tmp_path, PROFILES, "type: task\ncommands: [x]\ntermination_idle_time: 2h\n")
    assert load_configuration(path).configuration.idle_duration == 7200
    path.write_text("type: task\ncommands: [x]\ntermination_policy: dont-destroy\n")
    assert load_configuration(path).configuration.idle_duration is None


def test_legacy_profile_keys(tmp_path):
    profiles = "profiles:\n  - name: old\n    default: true\n    termination_idle_time: 1h\n"
    path = project(tmp_path, profiles, "type: task\ncommands: [x]\n")
    assert load_configuration(path).configuration.idle_duration == 3600


def test_fleet_takes_only_fleet_fields_from_profiles(tmp_path):
    path = project(tmp_path, PROFILES, "type: fleet\nname: f1\nnodes: 1\n")
    fleet = load_configuration(path).configuration
    assert (fleet.spot_policy, fleet.max_price, fleet.idle_duration) == ("auto", 1.5, 600)
    assert not hasattr(fleet, "max_duration")


def test_bad_profile_is_reported_in_profiles_yml(tmp_path):
    profiles = "profiles:\n  - name: x\n    default: true\n    spot_policy: cheapest\n"
    path = project(tmp_path, profiles, "type: task\ncommands: [x]\n")
    with pytest.raises(ConfigurationError) as info:
        load_configuration(path)
    error = info.value
    assert error.file.endswith(".dstack/profiles.yml")
    assert (error.path, error.line) == ("profiles[0].spot_policy", 4)


def test_unknown_profile_field_and_bad_shape(tmp_path):
    profiles = "profiles:\n  - name: x\n    spot_polcy: auto\n"
    path = project(tmp_path, profiles, "type: task\ncommands: [x]\n")
    with pytest.raises(ConfigurationError, match="did you mean `spot_policy`"):
        load_configuration(path)
    (tmp_path / ".dstack" / "profiles.yml").write_text("- name: x\n")
    with pytest.raises(ConfigurationError, match="profiles:"):
        load_configuration(path)


def test_no_profiles_anywhere(tmp_path):
    path = tmp_path / "a.dstack.yml"
    path.write_text("type: task\ncommands: [x]\n")
    loaded = load_configuration(path)
    assert loaded.profile is None
    assert loaded.configuration.max_price is None
