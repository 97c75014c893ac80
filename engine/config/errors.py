"""Pydantic errors -> one ConfigurationError naming file, YAML path, line and what to write."""

from __future__ import annotations

import difflib
import types
import typing

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from ..errors import ConfigurationError
from .base import FieldError
from .yamlfile import YamlDocument, format_path

Loc = tuple[int | str, ...]  # a pydantic error location: keys, indexes and union tags
_TYPE_TAGS = {"str", "int", "float", "bool", "dict", "list", "none", "bytes"}
# errors that say most about what went wrong come first when a union reports several
_RANK = {
    "extra_forbidden": 0,
    "value_error": 0,
    "assertion_error": 0,
    "missing": 1,
    "literal_error": 1,
    "greater_than_equal": 1,
    "greater_than": 1,
    "less_than_equal": 1,
    "too_short": 1,
}


def validation_error(
    exc: ValidationError,
    doc: YamlDocument,
    model: type[BaseModel],
    *,
    prefix: Loc = (),
) -> ConfigurationError:
    """The most telling error of `exc`, located in `doc` (values under `prefix`)."""
    errors = exc.errors(include_url=False)
    data = _at(doc.data, prefix)
    cleaned = [(_clean(_located(err), data), err) for err in errors]
    cleaned.sort(
        key=lambda item: (
            _RANK.get(item[1]["type"], 2),
            doc.line_of((*prefix, *item[0])) or 0,
            -len(item[0]),
        )
    )
    loc, err = cleaned[0]
    path = (*prefix, *loc)
    kind = err["type"]
    message = _message(err, model, loc)
    line = doc.line_of(path, key=kind == "extra_forbidden")
    # a union reports each branch: its errors at a parent of the chosen path are the same problem
    others = len({c[0] for c in cleaned if c[0] != loc and c[0] != loc[: len(c[0])]})
    if others > 0:
        message += f" (and {others} more problem{'s' if others > 1 else ''})"
    return ConfigurationError(message, file=doc.file, path=format_path(path) or None, line=line)


def _located(err: ErrorDetails) -> Loc:
    """The error's location; a model's rule about one field (FieldError) is at that field."""
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        return (*err["loc"], *cause.path)
    return tuple(err["loc"])


def field_names(model: type[BaseModel]) -> list[str]:
    """Fields a user may write (deprecated ones left out), alphabetically."""
    return sorted(
        name
        for name, info in model.model_fields.items()
        if not (info.description or "").startswith("Deprecated")
    )


def model_at(model: type[BaseModel], loc: Loc) -> type[BaseModel] | None:
    """The model class that holds the last part of `loc` (None when not a model)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        if current is None:
            return None
        info = current.model_fields.get(str(part))
        if info is None:
            return None
        current = _first_model(info.annotation)
    return current


def _message(err: ErrorDetails, model: type[BaseModel], loc: Loc) -> str:
    kind = err["type"]
    msg = err["msg"]
    value = err["input"]
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        holder = model_at(model, loc[:-1]) if loc[:-1] else model
        known = field_names(holder) if holder else []
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        if close:
            return f"unknown field `{name}`: did you mean `{close[0]}`?"
        where = _holder_name(holder, model, loc[:-1])
        return f"unknown field `{name}`; the fields of {where} are {', '.join(known)}"
    if kind == "missing":
        name = str(loc[-1]) if loc else "?"
        return f"`{name}` is required{_hint(model, loc)}"
    if kind in ("value_error", "assertion_error"):
        return (
            msg.split(", ", 1)[1]
            if msg.startswith(("Value error, ", "Assertion failed, "))
            else msg
        )
    if kind == "literal_error":
        expected = msg.removeprefix("Input should be ").replace("'", "")
        return f"{_shown(value)} is not accepted: use {expected}"
    return f"{msg.rstrip('.')}, got {_shown(value)}{_hint(model, loc)}"


def _hint(model: type[BaseModel], loc: Loc) -> str:
    if not loc:
        return ""
    holder = model_at(model, loc[:-1]) if loc[:-1] else model
    last = next((p for p in reversed(loc) if not isinstance(p, int)), None)
    if holder is None or last is None:
        return ""
    info = holder.model_fields.get(str(last))
    if info is None or not info.description:
        return ""
    return f" ({info.description})"


def _holder_name(holder: type[BaseModel] | None, root: type[BaseModel], loc: Loc) -> str:
    if holder is root:
        kind = root.model_fields.get("type")
        if kind is not None and kind.description:
            return f"a {kind.description}"
        return root.__name__
    return f"`{format_path(loc)}`" if loc else "this mapping"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _clean(loc: Loc, data: object) -> Loc:
    """Keep the parts of a pydantic location that are keys or indexes of the YAML data."""
    result: list[int | str] = []
    current = data
    for part in loc:
        if isinstance(part, int):
            if isinstance(current, list) and 0 <= part < len(current):
                result.append(part)
                current = current[part]
            continue
        text = str(part)
        if isinstance(current, dict) and text in current:
            result.append(text)
            current = current[text]
            continue
        if "[" in text or text in _TYPE_TAGS or text[:1].isupper() or "-" in text:
            continue  # a union branch tag, not a key
        if isinstance(current, dict):
            result.append(text)  # a missing or unknown key
            current = None
    return tuple(result)


def _at(data: object, path: Loc) -> object:
    for part in path:
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and -len(data) <= part < len(data):
            data = data[part]
        else:
            return None
    return data


def _first_model(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is dict:
        return None
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType, list, typing.Annotated) or args:
        for arg in args:
            found = _first_model(arg)
            if found is not None:
                return found
    return None
