"""Which env values of a configuration are secret: found in the document as written.

An env entry is secret when its value comes from outside the file: `- NAME` (or `NAME:`
with no value) takes the caller's environment at submit, a value that uses
`${{ secrets.NAME }}` takes the secret store, and one that uses `${{ env.NAME }}` of such
a name (or of a name the file does not give) takes either. `${{ secrets.NAME }}`, and
`${{ env.NAME }}` of a name whose value uses a stored secret, are refused anywhere but
`env` (the rest of a configuration is stored and shown as written); engine/secrets keeps
the values of secret env entries out of the plan and the state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import ConfigurationError
from .yamlfile import YamlDocument, YamlPath, format_path

_SECRET_EXPRESSION = re.compile(r"(?<!\$)\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_ENV_EXPRESSION = re.compile(r"(?<!\$)\$\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


@dataclass
class SecretEnv:
    """The secret env entries of one document: names from the caller's environment, names
    whose value uses stored secrets, and the stored secrets used (name -> first YAML path)."""

    from_caller: list[str] = field(default_factory=list)
    from_store: list[str] = field(default_factory=list)
    secrets_used: dict[str, YamlPath] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # every secret env name, file order
    registry_password: bool = False  # registry_auth.password uses a stored secret


def secret_env(doc: YamlDocument) -> SecretEnv:
    """The secret env entries of `doc`.

    ConfigurationError for ${{ secrets.NAME }} outside `env`, and for ${{ env.NAME }}
    outside `env` when NAME's value uses a stored secret: the rest of a configuration
    (commands...) is stored and shown as written, so `$NAME` in the commands is the way to
    use it. `${{ env.NAME }}` of a name from the caller's environment stays allowed there, as
    dstack allows it: that copy of the value is part of the configuration as written."""
    found = SecretEnv()
    data = doc.data
    if not isinstance(data, dict):
        return found
    entries = list(_env_entries(data.get("env")))
    given = {name for name, _, _ in entries}
    sensitive: set[str] = set()
    stored: set[str] = set()  # values that hold a stored secret's
    for name, value, _path in entries:
        if value is None:
            found.from_caller.append(name)
            sensitive.add(name)
    for _ in range(2):  # an env value may refer to another, in any order
        for name, value, path in entries:
            if value is None or name in found.from_store:
                continue
            used = _SECRET_EXPRESSION.findall(value)
            refs = _ENV_EXPRESSION.findall(value)
            if used or any(n in sensitive or n not in given for n in refs):
                found.from_store.append(name)
                sensitive.add(name)
                for secret in used:
                    found.secrets_used.setdefault(secret, path)
            if used or any(n in stored for n in refs):
                stored.add(name)
    found.names = [name for name, _, _ in entries if name in sensitive]
    for path, text in _strings(data, ()):
        if path[:1] == ("env",):
            continue
        if path == ("registry_auth", "password"):  # dstack's other place for a secret
            for secret in _SECRET_EXPRESSION.findall(text):
                found.secrets_used.setdefault(secret, path)
                found.registry_password = True
            continue
        for name in _SECRET_EXPRESSION.findall(text):
            raise _outside_env(
                doc,
                path,
                f"${{{{ secrets.{name} }}}} can only be used in env (here its value would be "
                f"stored with the configuration): add {name}=${{{{ secrets.{name} }}}} to env "
                f"and write ${name} here",
            )
        for name in _ENV_EXPRESSION.findall(text):
            if name in stored:
                raise _outside_env(
                    doc,
                    path,
                    f"${{{{ env.{name} }}}} is a stored secret's value, which only env may use "
                    f"(here it would be stored with the configuration): write ${name} here",
                )
    return found


def _outside_env(doc: YamlDocument, path: YamlPath, message: str) -> ConfigurationError:
    return ConfigurationError(
        message, file=doc.file, path=format_path(path), line=doc.line_of(path)
    )


def _env_entries(env: object) -> Iterator[tuple[str, str | None, YamlPath]]:
    if isinstance(env, list):
        for i, item in enumerate(env):
            if isinstance(item, str):
                key, sep, value = item.partition("=")
                yield key.strip(), (value if sep else None), ("env", i)
    elif isinstance(env, dict):
        for key, value in env.items():
            yield str(key), (None if value is None else str(value)), ("env", key)


def _strings(data: object, path: YamlPath) -> Iterator[tuple[YamlPath, str]]:
    if isinstance(data, str):
        yield path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, (*path, i))
