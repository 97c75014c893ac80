"""The require_tool fixture: a missing tool skips a test locally and fails it in CI."""

from __future__ import annotations

import pytest

MISSING = "fleetstack-no-such-tool"


@pytest.fixture
def no_ci(monkeypatch):
    monkeypatch.delenv("FLEETSTACK_REQUIRE_ALL_TESTS", raising=False)
    monkeypatch.delenv("CI", raising=False)


def test_a_present_tool_gives_its_path(require_tool, no_ci):
    assert require_tool("bash").endswith("/bash")


def test_the_venv_tool_is_found(require_tool, no_ci):
    assert require_tool("shellcheck").endswith("/shellcheck")


def test_a_missing_tool_skips_on_a_workstation(require_tool, no_ci):
    with pytest.raises(pytest.skip.Exception, match=f"`{MISSING}` is not installed"):
        require_tool(MISSING)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("FLEETSTACK_REQUIRE_ALL_TESTS", "1"), ("CI", "true"), ("CI", "True")],
)
def test_a_missing_tool_fails_when_every_test_must_run(
    require_tool, no_ci, monkeypatch, variable, value
):
    monkeypatch.setenv(variable, value)

    with pytest.raises(pytest.fail.Exception, match=f"install `{MISSING}`") as failure:
        require_tool(MISSING)

    assert variable in str(failure.value)


@pytest.mark.parametrize(("variable", "value"), [("FLEETSTACK_REQUIRE_ALL_TESTS", "0"), ("CI", "")])
def test_a_disabled_setting_still_skips(require_tool, no_ci, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)

    with pytest.raises(pytest.skip.Exception):
        require_tool(MISSING)
