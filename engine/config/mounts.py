"""What a run mounts: volumes (network or instance paths), git repos and local files."""

from __future__ import annotations

import string
from typing import Literal

from pydantic import Field, field_validator, model_validator

from ..models.short_forms import ShortForms
from .base import FieldError
from .common import OneOrMany, Strict


def _split_mount(value: str) -> dict[str, str]:
    source, sep, path = value.rpartition(":")
    if not sep or not source or not path:
        raise ValueError(f"{value!r} is not a mount: write SOURCE:/container/path")
    return {"source": source, "path": path}


def _absolute(value: str, what: str) -> str:
    if not value.startswith("/") and not value.startswith("${{"):
        raise ValueError(f"{what} {value!r} must be an absolute path (start with /)")
    return value


class VolumeMount(ShortForms, Strict):
    """`name:/path` (a network volume) or `/instance/path:/path` (a path of the instance)."""

    name: OneOrMany | None = Field(
        default=None,
        description="Network volume to mount: a name, or a list (one per job, by availability)",
    )
    instance_path: str | None = Field(
        default=None, description="Absolute path on the instance to mount (instance volume)"
    )
    path: str = Field(description="Absolute path inside the container where it is mounted")
    optional: bool | None = Field(
        default=None,
        description="Instance volumes only: run without it where the instance lacks the path",
    )

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = _split_mount(value)
        if "/" in parts["source"]:
            return {"instance_path": parts["source"], "path": parts["path"]}
        return {"name": parts["source"], "path": parts["path"]}

    @field_validator("name", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("path", "instance_path")
    @classmethod
    def _absolute_path(cls, value: str | None) -> str | None:
        return value if value is None else _absolute(value, "the mount path")

    @model_validator(mode="after")
    def _one_kind(self) -> VolumeMount:
        if (self.name is None) == (self.instance_path is None):
            raise ValueError("a volume mount has either name (network) or instance_path")
        if self.name is not None and self.optional is not None:
            raise FieldError("optional", "optional applies to instance volumes only: remove it")
        return self


class RepoSpec(ShortForms, Strict):
    """A git repo put in the container: `.`, `../other:/path`, a URL, or a mapping."""

    local_path: str | None = Field(
        default=None, description="A git repo on your machine (relative to the file's folder)"
    )
    url: str | None = Field(default=None, description="A remote git repo to clone")
    branch: str | None = Field(default=None, description="Branch to check out")
    hash: str | None = Field(default=None, description="Commit to check out")
    path: str = Field(
        default=".", description="Where the repo goes in the container (relative: working dir)"
    )
    if_exists: Literal["error", "skip"] = Field(
        default="error",
        description="When path exists and is not empty: error (stop the run) or skip the repo",
    )

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return parse_repo(value) if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _no_other_home(cls, value: str) -> str:
        if value.startswith("~") and value.split("/")[0] != "~":
            raise ValueError(f"{value!r}: ~user paths are not supported, write ~/... or /...")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> RepoSpec:
        if (self.local_path is None) == (self.url is None):
            raise ValueError("a repo has either local_path or url (exactly one)")
        return self


def parse_repo(value: str) -> dict[str, str]:
    """{local_path or url, path?} from `PATH`, `PATH:/dest`, `URL` or `URL:/dest`."""
    parts = value.split(":")
    url = len(parts) > 1 and ("@" in parts[0] or parts[1].startswith("//"))
    if url or _drive(parts):
        parts = [f"{parts[0]}:{parts[1]}", *parts[2:]]
    if len(parts) > 2:
        raise ValueError(f"{value!r} is not a repo: write PATH, URL, PATH:/dest or URL:/dest")
    key = "url" if url else "local_path"
    return {key: parts[0], **({"path": parts[1]} if len(parts) == 2 else {})}


class FileMount(ShortForms, Strict):
    """A local file or folder uploaded into the container: `local:path` or a mapping."""

    local_path: str = Field(description="Local file or folder (relative to the file's folder)")
    path: str = Field(description="Where it goes in the container")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        parts = value.split(":")
        if len(parts) > 1 and _drive(parts):
            parts = [f"{parts[0]}:{parts[1]}", *parts[2:]]
        if len(parts) > 2:
            raise ValueError(f"{value!r} is not a file mapping: write LOCAL or LOCAL:PATH")
        return {"local_path": parts[0], "path": parts[-1]}

    @field_validator("path")
    @classmethod
    def _unix(cls, value: str) -> str:
        if _drive(value.split(":")):
            raise ValueError(f"{value!r} is a Windows path: the container path is a Unix one")
        return value


def _drive(parts: list[str]) -> bool:
    """True when `parts` (a text split at ':') starts with a Windows drive: C:/ or C:\\."""
    return (
        len(parts) > 1
        and len(parts[0]) == 1
        and parts[0] in string.ascii_letters
        and parts[1][:1] in ("\\", "/")
    )
