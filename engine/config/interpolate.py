"""`${{ run.args }}`, `${{ env.NAME }}`, `${{ secrets.NAME }}` in configuration strings.

`$${{ ... }}` is an escape: it becomes the literal text `${{ ... }}`. References the job
resolves when it runs (`${{ dstack.node_rank }}`, `${{ groups[0].nodes[0].IP_ADDRESS }}`)
stay as written. Any other namespace or name is an error that names the expression, the YAML
path and the line.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping

from .yamlfile import YamlPath

_EXPRESSION = re.compile(r"(\$?)\$\{\{(.*?)\}\}", re.DOTALL)
# resolved on the node when the job runs, not when the file is loaded
_RUNTIME = re.compile(
    r"^(dstack\.[A-Za-z_][A-Za-z0-9_]*|groups\[\d+\](\.[A-Za-z_][\w]*(\[\d+\])?)+)$"
)
_REFERENCE = re.compile(r"^(run|env|secrets)\.([A-Za-z_][A-Za-z0-9_]*)$")


class InterpolationError(ValueError):
    """An expression that cannot be resolved; `path` is where it was found."""

    def __init__(self, message: str, path: YamlPath) -> None:
        super().__init__(message)
        self.path = path


def interpolate(
    data: Mapping[str, object],
    *,
    run_args: list[str] | tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
    path: YamlPath = (),
    skip: Callable[[YamlPath], bool] | None = None,
    deferred: dict[str, YamlPath] | None = None,
) -> dict[str, object]:
    """A copy of the mapping `data` with every expression in its strings replaced.

    `path` is where `data` sits in the document; values at paths where `skip` is true stay
    as written. With `deferred`, a `${{ env.NAME }}` whose NAME is not in `env` stays as
    written and NAME is recorded there with the path of its first use (it is resolved at
    submit); without it, that is an error.
    """
    context = _Context(
        list(run_args),
        env if env is not None else {},
        secrets if secrets is not None else {},
        deferred,
    )
    if skip is not None and skip(path):
        return dict(data)
    return {k: _walk(v, context, (*path, k), skip) for k, v in data.items()}


class _Context:
    def __init__(
        self,
        run_args: list[str],
        env: Mapping[str, str],
        secrets: Mapping[str, str],
        deferred: dict[str, YamlPath] | None,
    ) -> None:
        self.run_args = run_args
        self.env = env
        self.secrets = secrets
        self.deferred = deferred

    def resolve(self, expression: str, path: YamlPath) -> str:
        text = expression.strip()
        match = _REFERENCE.match(text)
        if not match:
            raise InterpolationError(
                f"cannot read ${{{{ {text} }}}}: write ${{{{ run.args }}}}, ${{{{ env.NAME }}}} "
                f"or ${{{{ secrets.NAME }}}} (or $${{{{ ... }}}} for the literal text)",
                path,
            )
        namespace, name = match.groups()
        if namespace == "run":
            if name != "args":
                raise InterpolationError(
                    f"unknown ${{{{ run.{name} }}}}: only ${{{{ run.args }}}} exists", path
                )
            # dstack: no arguments -> empty string
            return shlex.join(self.run_args) if self.run_args else ""
        source = self.env if namespace == "env" else self.secrets
        if name not in source and namespace == "env" and self.deferred is not None:
            self.deferred.setdefault(name, path)
            return f"${{{{ env.{name} }}}}"
        if name not in source:
            hint = (
                "set it in env or in your environment"
                if namespace == "env"
                else f"store it with `dstack secret set {name}`"
            )
            raise InterpolationError(f"${{{{ {namespace}.{name} }}}} is not set: {hint}", path)
        return str(source[name])


def _walk(
    data: object,
    context: _Context,
    path: YamlPath,
    skip: Callable[[YamlPath], bool] | None,
) -> object:
    if skip is not None and skip(path):
        return data
    if isinstance(data, str):
        return _substitute(data, context, path)
    if isinstance(data, dict):
        return {k: _walk(v, context, (*path, k), skip) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk(v, context, (*path, i), skip) for i, v in enumerate(data)]
    return data


def _substitute(text: str, context: _Context, path: YamlPath) -> str:
    if "${{" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        if match.group(1):  # $${{ ... }} -> ${{ ... }}
            return "${{" + match.group(2) + "}}"
        if _RUNTIME.match(match.group(2).strip()):
            return match.group(0)
        return context.resolve(match.group(2), path)

    return _EXPRESSION.sub(replace, text)
