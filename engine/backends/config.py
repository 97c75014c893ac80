"""Backends configuration: $DSTACK_HOME/config.yml lists enabled backends and credential references.

```yaml
backends:
  - type: aws
    creds: {type: profile, profile: default}   # or {type: default}
    regions: [us-east-1, us-west-2]
  - type: gcp
    project_id: my-project
    creds: {type: service_account, filename: ~/.config/gcloud/sa.json}
  - type: local
```
Secrets never live in this file: only profile names and key file paths. `type:` is any name
of the registry; the creds types a backend accepts are its own declared data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ...stacks.engine import DEFAULT_ENGINE, ENGINE_NAMES, TEST_ENGINES
from ..errors import ConfigurationError
from ..paths import config_path
from . import registry
from .base import Backend, Capability
from .local.backend import NAME as LOCAL

_TOP_LEVEL_KEYS = ("backends",)
_EXAMPLE = registry.backend_names()[0]  # the backend the messages' examples name
_SECRET_KEYS = {"secret_access_key", "access_key", "secret", "client_secret", "api_key", "password"}


@dataclass(frozen=True)
class BackendConfig:
    type: str
    regions: list[str] | None = None
    creds: dict[str, object] = field(default_factory=dict)  # YAML values: references only
    extra: dict[str, object] = field(default_factory=dict)  # the backend's own settings


@dataclass(frozen=True)
class BackendsConfig:
    backends: list[BackendConfig] = field(default_factory=list)
    path: Path | None = None

    @property
    def configured(self) -> set[str]:
        return {b.type for b in self.backends}

    @property
    def has_cloud(self) -> bool:
        """Whether a backend of machines other than this one (a cloud) is configured."""
        return any(_is_cloud(b.type) for b in self.backends)

    def local_enabled(self, requested: list[str] | None = None) -> bool:
        """local is on by default when no cloud backend is configured, or when asked for."""
        if requested and LOCAL in requested:
            return True
        return LOCAL in self.configured or not self.has_cloud

    def get(self, backend: str) -> BackendConfig | None:
        return next((b for b in self.backends if b.type == backend), None)


def load_backends_config(path: Path | None = None) -> BackendsConfig:
    """Read and validate config.yml; a missing file means no backend configured."""
    path = path or config_path()
    if not path.is_file():
        return BackendsConfig(path=path)
    import yaml

    # bounded read (a size limit on the bytes read); loaded here with its YAML dependency
    from ..config.yamlfile import read_bounded

    try:
        raw = yaml.safe_load(read_bounded(path, str(path), what="backends configuration")) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ConfigurationError(
            f"not valid YAML ({getattr(exc, 'problem', exc)})",
            file=str(path),
            line=line + 1 if line is not None else None,
        ) from None
    if not isinstance(raw, dict):
        raise ConfigurationError("expected a mapping with a `backends:` list", file=str(path))
    unknown = [k for k in raw if k not in _TOP_LEVEL_KEYS]
    if unknown:
        raise ConfigurationError(
            f"unknown key {unknown[0]!r}: the only top-level key is `backends:` "
            "(a list of `- type: NAME`)",
            file=str(path),
            path=str(unknown[0]),
        )
    items = raw.get("backends") or []
    if not isinstance(items, list):
        raise ConfigurationError(
            f"must be a list of backends (`- type: {_EXAMPLE}`)", file=str(path), path="backends"
        )
    backends = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        backends.append(_backend(item, f"backends[{i}]", str(path)))
        if backends[-1].type in seen:
            raise ConfigurationError(
                f"backend {backends[-1].type!r} is listed twice: keep one entry",
                file=str(path),
                path=f"backends[{i}].type",
            )
        seen.add(backends[-1].type)
    return BackendsConfig(backends=backends, path=path)


def _backend(item: object, where: str, file: str) -> BackendConfig:
    if isinstance(item, str):
        item = {"type": item}
    if not isinstance(item, dict):
        raise ConfigurationError(
            f"expected a mapping like `type: {_EXAMPLE}`", file=file, path=where
        )
    btype = item.get("type")
    backend = registry.find_backend(btype) if isinstance(btype, str) else None
    if backend is None:
        raise ConfigurationError(
            f"unknown backend {btype!r}: use one of {', '.join(registry.backend_names())}",
            file=file,
            path=f"{where}.type",
        )
    regions = item.get("regions")
    if regions is not None and (
        not isinstance(regions, list) or not all(isinstance(r, str) and r for r in regions)
    ):
        raise ConfigurationError(
            "must be a list of region names, e.g. [us-east-1]", file=file, path=f"{where}.regions"
        )
    creds = item.get("creds") or {}
    if not isinstance(creds, dict):
        raise ConfigurationError(
            "must be a mapping, e.g. {type: profile, profile: default}",
            file=file,
            path=f"{where}.creds",
        )
    leaked = _SECRET_KEYS & set(creds) | _SECRET_KEYS & set(item)
    if leaked:
        raise ConfigurationError(
            f"{sorted(leaked)[0]!r} looks like a secret in plain text: reference it instead "
            "(creds: {type: profile, profile: NAME} or {type: file, filename: PATH})",
            file=file,
            path=f"{where}.creds",
        )
    ctype = creds.get("type", "default")
    if ctype not in backend.creds_types:
        raise ConfigurationError(
            f"unknown creds type {ctype!r}: use one of {', '.join(sorted(backend.creds_types))}",
            file=file,
            path=f"{where}.creds.type",
        )
    if ctype == "profile" and not creds.get("profile"):
        raise ConfigurationError("needs `profile: NAME`", file=file, path=f"{where}.creds.profile")
    if ctype in ("service_account", "file") and not creds.get("filename"):
        raise ConfigurationError(
            "needs `filename: PATH` to the key file", file=file, path=f"{where}.creds.filename"
        )
    _check_stack_engine(item.get("stack_engine"), backend, f"{where}.stack_engine", file)
    extra = {k: v for k, v in item.items() if k not in ("type", "regions", "creds")}
    return BackendConfig(type=backend.name, regions=regions, creds=dict(creds), extra=extra)


def _check_stack_engine(value: object, backend: Backend, where: str, file: str) -> None:
    """`stack_engine:` names a declared engine, on a backend provisioned as a stack."""
    if value is None:
        return
    if not backend.supports(Capability.STACK):
        raise ConfigurationError(
            f"backend {backend.name} has no stack ({backend.reason(Capability.STACK)}): "
            "remove `stack_engine`",
            file=file,
            path=where,
        )
    if value not in ENGINE_NAMES:
        raise ConfigurationError(
            f"unknown stack engine {value!r}: use {DEFAULT_ENGINE} (the default; "
            f"{', '.join(TEST_ENGINES)} is a test facility of fleetstack's own tests)",
            file=file,
            path=where,
        )


def _is_cloud(name: str) -> bool:
    backend = registry.find_backend(name)
    return backend is not None and not backend.supports(Capability.LOCAL_JOBS)
