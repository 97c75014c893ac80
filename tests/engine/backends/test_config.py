import pytest
from fleetstack.engine.backends.config import load_backends_config
from fleetstack.engine.errors import ConfigurationError
from fleetstack.engine.paths import config_path


def write(text: str):
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_missing_file_means_nothing_configured_and_local_enabled():
    config = load_backends_config()
    assert config.configured == set() and config.local_enabled()


def test_cloud_backend_turns_local_off_unless_asked():
    write(
        "backends:\n  - type: aws\n    creds: {type: profile, profile: dev}\n"
        "    regions: [us-east-1]\n"
    )
    config = load_backends_config()
    assert config.get("aws").regions == ["us-east-1"]
    assert not config.local_enabled() and config.local_enabled(["local"])


@pytest.mark.parametrize(
    "text, field",
    [
        ("backends:\n  - type: awz\n", "backends[0].type"),
        ("backends:\n  - type: aws\n    creds: {secret_access_key: x}\n", "backends[0].creds"),
        ("backends:\n  - type: aws\n    regions: us-east-1\n", "backends[0].regions"),
        (
            "backends:\n  - type: gcp\n    creds: {type: service_account}\n",
            "backends[0].creds.filename",
        ),
    ],
)
def test_errors_name_file_and_field(text, field):
    path = write(text)
    with pytest.raises(ConfigurationError) as exc:
        load_backends_config()
    assert str(path) in str(exc.value) and field in str(exc.value)


def test_a_misspelled_top_level_key_names_the_file_the_key_and_the_fix():
    path = write("backend:\n  - type: aws\n")
    with pytest.raises(ConfigurationError) as exc:
        load_backends_config()
    message = str(exc.value)
    assert str(path) in message and "'backend'" in message and "`backends:`" in message


def test_type_accepts_exactly_the_registry_names():
    from fleetstack.engine.backends.registry import backend_names

    names = backend_names()
    write("backends:\n" + "".join(f"  - type: {name}\n" for name in names))
    assert load_backends_config().configured == set(names)
    write("backends:\n  - type: nimbus\n")
    with pytest.raises(ConfigurationError) as exc:
        load_backends_config()
    assert f"use one of {', '.join(names)}" in str(exc.value)


def test_stack_engine_defaults_to_pulumi_and_accepts_the_declared_test_engine():
    write("backends:\n  - type: aws\n  - type: gcp\n    project_id: p\n    stack_engine: vm\n")
    config = load_backends_config()
    assert "stack_engine" not in config.get("aws").extra
    assert config.get("gcp").extra["stack_engine"] == "vm"


@pytest.mark.parametrize(
    "text, fix",
    [
        ("backends:\n  - type: aws\n    stack_engine: terraform\n", "use pulumi"),
        ("backends:\n  - type: local\n    stack_engine: vm\n", "remove `stack_engine`"),
    ],
)
def test_a_wrong_stack_engine_names_file_field_and_fix(text, fix):
    path = write(text)
    with pytest.raises(ConfigurationError) as exc:
        load_backends_config()
    message = str(exc.value)
    assert str(path) in message and "backends[0].stack_engine" in message and fix in message
