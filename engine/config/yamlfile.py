"""Reading YAML with line numbers: the composed node tree maps a YAML path to its line.

The loader is PyYAML's safe loader minus YAML 1.1's base-60 numbers, so `ports: [3000:30]`
stays the string "3000:30" instead of the integer 180030.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ConfigurationError

MAX_BYTES = 1024 * 1024  # a configuration is a few KB; a bigger file is the wrong file
# Where a value sits in a document: mapping keys (any YAML scalar) and list indexes.
YamlPath = tuple[object, ...]


class _Loader(yaml.SafeLoader):
    """SafeLoader without sexagesimal ints/floats (YAML 1.2 reads `3000:30` as a string)."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith((":int", ":float"))]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
        |[-+]?0[0-7_]+
        |[-+]?(?:0|[1-9][0-9_]*)
        |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
        |\.[0-9_]+(?:[eE][-+][0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


@dataclass
class YamlDocument:
    """A parsed YAML file: its data and the node tree that knows every value's line."""

    file: str
    data: object  # what PyYAML's safe loader built: narrow it with isinstance
    root: yaml.Node | None

    def line_of(self, path: YamlPath, *, key: bool = False) -> int | None:
        """1-based line of the value at `path` (of its key with key=True); nearest parent else."""
        node = self.root
        line = node.start_mark.line + 1 if node is not None else None
        for part in path:
            child, key_node = _child(node, part)
            if child is None:
                break
            node = child
            line = (key_node if key and key_node is not None else child).start_mark.line + 1
        return line


def read_yaml(
    path: Path, *, display: str | None = None, what: str = "configuration"
) -> YamlDocument:
    """Parse `path`; every problem (missing, directory, binary, syntax) is a ConfigurationError."""
    name = display or str(path)
    if not path.exists():
        raise ConfigurationError(f"no such file: {what} not found", file=name)
    if path.is_dir():
        raise ConfigurationError(
            "is a directory: pass the .dstack.yml file inside it with -f", file=name
        )
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigurationError(
                f"is {size / 1024 / 1024:.1f} MB; a {what} file is a few KB of YAML: "
                "is this the right file?",
                file=name,
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read: {exc.strerror or exc}", file=name) from None
    return parse_yaml(raw, name)


def parse_yaml(raw: bytes | str, name: str) -> YamlDocument:
    """Parse YAML text (already read) into a YamlDocument, or raise ConfigurationError."""
    if isinstance(raw, bytes):
        if b"\x00" in raw:
            raise ConfigurationError("is a binary file, not YAML", file=name)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ConfigurationError("is not UTF-8 text, not a YAML file", file=name) from None
    else:
        text = raw
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        _check_duplicate_keys(root, name)
        data = loader.construct_document(root) if root is not None else None
    except ConfigurationError:
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        if "expected a single document" in str(exc.context or "") + problem:
            problem = "holds several YAML documents (---); put one configuration per file"
        raise ConfigurationError(f"invalid YAML: {problem}", file=name, line=line) from None
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise ConfigurationError(f"invalid YAML: {exc}", file=name) from None
    finally:
        loader.dispose()
    return YamlDocument(file=name, data=data, root=root)


def format_path(path: YamlPath) -> str:
    """`resources.gpu`, `env[2]`, `ports[0]` from a location tuple."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _child(node: yaml.Node | None, part: object) -> tuple[yaml.Node | None, yaml.Node | None]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if getattr(key_node, "value", None) == str(part):
                return value_node, key_node
    if (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return node.value[part], None
    return None, None


def _check_duplicate_keys(node: yaml.Node | None, name: str, depth: int = 0) -> None:
    if node is None or depth > 50:
        return
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = getattr(key_node, "value", None)
            if isinstance(key, str) and key != "<<":
                if key in seen:
                    raise ConfigurationError(
                        f"`{key}` is given twice in the same mapping: keep one",
                        file=name,
                        line=key_node.start_mark.line + 1,
                    )
                seen.add(key)
            _check_duplicate_keys(value_node, name, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, name, depth + 1)
