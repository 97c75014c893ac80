"""load_configuration(): file -> validated configuration, with profiles, env and ${{ }} applied."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, Unpack

from pydantic import BaseModel, ValidationError

from ..errors import ConfigurationError
from .errors import validation_error
from .fleet import FleetConfiguration
from .gateway import GatewayConfiguration, VolumeConfiguration
from .interpolate import InterpolationError, interpolate
from .limits import check_limits
from .profiles import LoadedProfile, find_profile
from .run import (
    DevEnvironmentConfiguration,
    TaskConfiguration,
)
from .secret_refs import secret_env
from .service import ServiceConfiguration
from .yamlfile import YamlDocument, YamlPath, format_path, read_yaml

AnyConfiguration = (
    TaskConfiguration | ServiceConfiguration | DevEnvironmentConfiguration | FleetConfiguration
)
# read and validated, but not created by fleetstack yet (NotCreatedYet says so)
OtherConfiguration = GatewayConfiguration | VolumeConfiguration
CONFIGURATION_TYPES: dict[str, type[AnyConfiguration | OtherConfiguration]] = {
    "task": TaskConfiguration,
    "service": ServiceConfiguration,
    "dev-environment": DevEnvironmentConfiguration,
    "fleet": FleetConfiguration,
    "gateway": GatewayConfiguration,
    "volume": VolumeConfiguration,
}
# dstack types fleetstack does not read: named in the error instead of "unknown type"
_NOT_SUPPORTED = {"preset"}
_LEGACY_IDLE_KEYS = ("idle_duration", "termination_idle_time", "termination_policy")
_LEGACY_RETRY_KEYS = ("retry", "retry_policy")


class NotCreatedYet(ConfigurationError):
    """A valid configuration of a type fleetstack reads but does not create yet."""

    def __init__(self, configuration: OtherConfiguration, file: str, line: int | None) -> None:
        super().__init__(
            f"a valid {configuration.type}, but fleetstack does not create "
            f"{configuration.type}s yet: nothing was done",
            file=file,
            path="type",
            line=line,
        )
        self.configuration = configuration


@dataclass
class LoadedConfiguration:
    """A configuration ready for the engine: where it came from and what it said."""

    path: Path
    configuration: AnyConfiguration
    raw: dict[str, object]  # the file's mapping after interpolation and profile merging
    profile: str | None = None  # name of the profile merged in, if any
    # names the run takes from the caller's environment at submit (`- NAME`, `${{ env.NAME }}`),
    # in the order the file names them; empty once they are resolved
    env_required: list[str] = field(default_factory=list)
    # the stored secrets the file uses (${{ secrets.NAME }}), in the file's order
    secrets_required: list[str] = field(default_factory=list)


class LoadOptions(TypedDict, total=False):
    """How a configuration is loaded: `run_args` for ${{ run.args }}; `environ` and `secrets`,
    given at a submit, resolve the names the file leaves to them; `profile` names the profile
    to merge, and `profiles=False` merges none."""

    run_args: Sequence[str]
    environ: Mapping[str, str] | None
    secrets: Mapping[str, str] | None
    profile: str | None
    profiles: bool


def load_configuration(path: str | Path, **options: Unpack[LoadOptions]) -> LoadedConfiguration:
    """Read, merge profiles (unless `profiles` is False), interpolate ${{ }} and validate `path`.

    Validity never depends on the caller's environment. Without `environ` (validate, the
    plan, --dry-run) `- NAME` entries stay None in the model, `${{ env.NAME }}` of a name
    the file gives no value stays as written, and `env_required` lists both; with `environ`
    (a submit) they are resolved from it. Every problem, an unset name included, is a
    ConfigurationError naming the file, YAML path and line.
    """
    file = Path(path)
    doc = read_yaml(file, display=str(path))
    cwd = file.resolve().parent if file.is_file() else None
    return load_document(doc, path=file, cwd=cwd, **options)


def load_document(
    doc: YamlDocument, *, path: Path, cwd: Path | None = None, **options: Unpack[LoadOptions]
) -> LoadedConfiguration:
    """load_configuration() for an already parsed YAML document (`cwd`: where profiles of the
    project are looked for)."""
    model, data = _model_for(doc)
    found = secret_env(doc)  # refuses secrets where they would be stored as written
    environ = options.get("environ")
    source = _Source(
        doc,
        model,
        data,
        path,
        list(options.get("run_args", ())),
        options.get("secrets"),
        options.get("profile"),
        options.get("profiles", True),
        cwd,
    )
    loaded, required = source.load({})
    loaded.secrets_required = list(found.secrets_used)
    if environ is None or not required:
        return loaded
    supplied: dict[str, str] = {}
    for name, where in required.items():
        if name not in environ:
            raise _unset(doc, name, where)
        supplied[name] = environ[name]
    resolved, _ = source.load(supplied)
    resolved.secrets_required = list(found.secrets_used)
    return resolved


@dataclass
class _Source:
    """One document and everything it is loaded with, but the caller's environment."""

    doc: YamlDocument
    model: type[AnyConfiguration | OtherConfiguration]
    data: dict[str, object]
    path: Path
    run_args: list[str]
    secrets: Mapping[str, str] | None
    profile: str | None
    profiles: bool
    cwd: Path | None

    def load(self, supplied: Mapping[str, str]) -> tuple[LoadedConfiguration, dict[str, YamlPath]]:
        """The configuration with `supplied` values of names the file leaves to the caller's
        environment, and where each name still unresolved is first needed."""
        doc, model = self.doc, self.model
        required: dict[str, YamlPath] = {}
        if issubclass(model, OtherConfiguration):  # dstack reads these as written
            _validate(doc, model, dict(self.data))
        raw = self._interpolated(supplied, required)
        loaded_profile = (
            find_profile(self.profile, cwd=self.cwd or Path.cwd()) if self.profiles else None
        )
        if loaded_profile is not None:
            raw = _merge_profile(raw, loaded_profile, model)
        configuration = _validate(doc, model, raw)
        loaded = LoadedConfiguration(
            path=self.path,
            configuration=configuration,
            raw=raw,
            profile=loaded_profile.profile.name if loaded_profile else None,
            env_required=list(required),
        )
        return loaded, required

    def _interpolated(
        self, supplied: Mapping[str, str], required: dict[str, YamlPath]
    ) -> dict[str, object]:
        """The document's mapping with `env` as a mapping and every ${{ }} it can resolve
        resolved; names left to the caller's environment are recorded in `required`."""
        doc = self.doc
        raw = dict(self.data)
        if "env" in raw:
            raw["env"] = _env_mapping(doc, raw["env"], supplied, required)
        try:
            written = raw.get("env")
            env = (
                interpolate(
                    written, secrets=self.secrets, env=supplied, path=("env",), deferred=required
                )
                if isinstance(written, dict) and written
                else {}
            )
            if env:
                raw["env"] = env
            context = {**supplied, **{k: str(v) for k, v in env.items() if v is not None}}
            raw = interpolate(
                raw,
                run_args=self.run_args,
                env=context,
                secrets=self.secrets,
                skip=lambda p: p == ("env",),
                deferred=required,
            )
        except InterpolationError as exc:
            raise ConfigurationError(
                str(exc), file=doc.file, path=format_path(exc.path), line=doc.line_of(exc.path)
            ) from None
        return raw


def _validate(
    doc: YamlDocument, model: type[AnyConfiguration | OtherConfiguration], raw: dict[str, object]
) -> AnyConfiguration:
    """`raw` validated by `model`; NotCreatedYet for a type fleetstack does not create."""
    try:
        configuration = model.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, doc, model) from None
    check_limits(configuration, doc)
    if isinstance(configuration, OtherConfiguration):
        raise NotCreatedYet(configuration, doc.file, doc.line_of(("type",)))
    return configuration


def apply_overrides(configuration: AnyConfiguration, **flags: object) -> AnyConfiguration:
    """A copy of `configuration`, of its type, with CLI flags set (None = not given); flags
    win over all."""
    fields = type(configuration).model_fields
    updates = {k: v for k, v in flags.items() if v is not None}
    unknown = [k for k in updates if k not in fields]
    if unknown:
        raise ConfigurationError(
            f"--{unknown[0].replace('_', '-')} does not apply to a {configuration.type}"
        )
    data = configuration.model_dump(exclude_unset=True)
    for merged in ("env", "resources"):  # -e and --cpu/--gpu/...: added to the file's, and win
        extra = updates.pop(merged, None)
        if isinstance(extra, dict):
            current = data.get(merged)
            data[merged] = {**(current if isinstance(current, dict) else {}), **extra}
    data.update(updates)
    if "idle_duration" in updates:
        data.pop("termination_idle_time", None)
        data.pop("termination_policy", None)
    try:
        return type(configuration).model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = next((str(p) for p in first["loc"] if isinstance(p, str)), "?")
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ConfigurationError(
            f"--{name.replace('_', '-')}: {message}, got {first.get('input')!r}"
        ) from None


def _model_for(
    doc: YamlDocument,
) -> tuple[type[AnyConfiguration | OtherConfiguration], dict[str, object]]:
    """The model of the document's `type`, and the document's top-level mapping."""
    data = doc.data
    kinds = ", ".join(CONFIGURATION_TYPES)
    if data is None:
        raise ConfigurationError(
            f"the file is empty: a configuration starts with `type:` ({kinds})", file=doc.file
        )
    if not isinstance(data, dict):
        raise ConfigurationError(
            f"the top level is a {_yaml_kind(data)}, not a mapping: a configuration is a "
            f"mapping that starts with `type:` ({kinds})",
            file=doc.file,
            line=doc.line_of(()),
        )
    kind = data.get("type")
    if kind is None:
        raise ConfigurationError(
            f"`type` is missing: add `type: task` (or {kinds})", file=doc.file, line=1, path="type"
        )
    line = doc.line_of(("type",))
    if not isinstance(kind, str) or kind not in CONFIGURATION_TYPES:
        if isinstance(kind, str) and kind in _NOT_SUPPORTED:
            message = f"type {kind} is a dstack type fleetstack does not support yet; use {kinds}"
        else:
            close = difflib.get_close_matches(str(kind), list(CONFIGURATION_TYPES), n=1)
            hint = f"did you mean `{close[0]}`? " if close else ""
            message = f"unknown type {kind!r}: {hint}use one of {kinds}"
        raise ConfigurationError(message, file=doc.file, path="type", line=line)
    return CONFIGURATION_TYPES[kind], data


def _env_mapping(
    doc: YamlDocument,
    env: object,
    supplied: Mapping[str, str],
    required: dict[str, YamlPath],
) -> object:
    """`env` as a mapping; a `KEY` item or an empty value takes `supplied[KEY]`, or stays None
    and is recorded in `required`."""
    if isinstance(env, list):
        mapping: dict[str, str | None] = {}
        for i, item in enumerate(env):
            if not isinstance(item, str):
                raise ConfigurationError(
                    f"env items are KEY=VALUE or KEY, got {item!r}",
                    file=doc.file,
                    path=f"env[{i}]",
                    line=doc.line_of(("env", i)),
                )
            key, sep, value = item.partition("=")
            key = key.strip()
            mapping[key] = value if sep else _supplied(key, supplied, required, ("env", i))
        return mapping
    if isinstance(env, dict):
        return {
            key: _supplied(str(key), supplied, required, ("env", key)) if value is None else value
            for key, value in env.items()
        }
    return env


def _supplied(
    key: str, supplied: Mapping[str, str], required: dict[str, YamlPath], path: YamlPath
) -> str | None:
    if key in supplied:
        return supplied[key]
    required.setdefault(key, path)
    return None


def _unset(doc: YamlDocument, name: str, where: YamlPath) -> ConfigurationError:
    """The error of a name the run needs from the caller's environment and does not find."""
    if where[:1] == ("env",):
        fix = f"export {name}=... before `dstack apply`, or write {name}=VALUE in env"
    else:
        fix = f"export {name}=... before `dstack apply`, or add {name}=VALUE to env"
    return ConfigurationError(
        f"{name} is not set in your environment: {fix}",
        file=doc.file,
        path=format_path(where),
        line=doc.line_of(where),
    )


def _merge_profile(
    raw: dict[str, object], loaded: LoadedProfile, model: type[BaseModel]
) -> dict[str, object]:
    """Profile values under the configuration's own: only keys the configuration lacks."""
    merged = dict(raw)
    fields = model.model_fields
    own_idle = any(k in raw for k in _LEGACY_IDLE_KEYS)
    own_retry = any(k in raw for k in _LEGACY_RETRY_KEYS)
    for key, value in loaded.raw.items():
        if key not in fields or key in raw:
            continue
        if key in _LEGACY_IDLE_KEYS and own_idle:
            continue
        if key in _LEGACY_RETRY_KEYS and own_retry:
            continue
        merged[key] = value
    return merged


def _yaml_kind(value: object) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    return type(value).__name__
