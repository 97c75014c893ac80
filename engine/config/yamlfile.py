"""Reading YAML with line numbers: the composed node tree maps a YAML path to its line.

The loader is PyYAML's safe loader minus YAML 1.1's base-60 numbers, so `ports: [3000:30]`
stays the string "3000:30" instead of the integer 180030.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import ConfigurationError

MAX_BYTES = 1024 * 1024  # a configuration is a few KB; a bigger file is the wrong file
# Nodes a document may hold once its aliases are expanded: anchors and aliases share nodes,
# and whatever walks the data (interpolation, validation) visits each alias again.
MAX_EXPANDED_NODES = 100_000
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
    """Parse `path`; every problem (missing, not a regular file, too big, binary, syntax,
    aliases that expand too far) is a ConfigurationError naming the file."""
    name = display or str(path)
    return parse_yaml(read_bounded(path, name, what=what), name)


def read_bounded(path: Path, name: str, *, what: str = "configuration") -> bytes:
    """The bytes of the regular file `path`, at most MAX_BYTES of them.

    A FIFO is opened without blocking and a device or directory is refused before a byte is
    read; the limit applies to the bytes read, so a file that grows (or lies in `stat`) stops
    at the limit.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigurationError(f"no such file: {what} not found", file=name) from None
    except IsADirectoryError:
        raise ConfigurationError(
            "is a directory: pass the .dstack.yml file inside it with -f", file=name
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"cannot read: {exc.strerror or exc}", file=name) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigurationError(
                "is a directory: pass the .dstack.yml file inside it with -f", file=name
            )
        if not stat.S_ISREG(mode):
            raise ConfigurationError(
                f"is a {_file_kind(mode)}, not a regular file: a {what} is read from a file only",
                file=name,
            )
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BYTES and (chunk := os.read(fd, min(1 << 16, MAX_BYTES + 1 - size))):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ConfigurationError(f"cannot read: {exc.strerror or exc}", file=name) from None
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        raise ConfigurationError(
            f"is over the {MAX_BYTES // 1024 // 1024} MB limit of a {what} file (a few KB of "
            "YAML): is this the right file?",
            file=name,
        )
    return b"".join(chunks)


def check_text_size(raw: bytes | str, name: str, *, what: str = "configuration") -> None:
    """ConfigurationError when YAML text given directly (stdin) is over MAX_BYTES."""
    if len(raw) > MAX_BYTES:
        raise ConfigurationError(
            f"is over the {MAX_BYTES // 1024 // 1024} MB limit of a {what} (a few KB of YAML)",
            file=name,
        )


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
    check_text_size(text, name)
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        _check_expansion(root, name)
        _check_duplicate_keys(root, name, set())
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


def _check_expansion(root: yaml.Node | None, name: str) -> None:
    """Refuse a document whose aliases expand past MAX_EXPANDED_NODES (billion laughs) or
    refer to themselves; each node is counted once, so this is linear in the file's size."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            raise ConfigurationError(
                "an alias (*name) refers to the node that holds it: YAML that contains "
                "itself cannot be a configuration",
                file=name,
                line=node.start_mark.line + 1,
            )
        open_nodes.add(key)
        total = 1
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        for child in children:
            total += size(child)
            if total > MAX_EXPANDED_NODES:
                raise ConfigurationError(
                    f"expands to more than {MAX_EXPANDED_NODES} values through its anchors "
                    "and aliases (&name, *name), the limit of a configuration: write the "
                    "values out or use fewer aliases",
                    file=name,
                    line=node.start_mark.line + 1,
                )
        open_nodes.discard(key)
        sizes[key] = total
        return total

    if root is not None:
        size(root)


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def _check_duplicate_keys(
    node: yaml.Node | None, name: str, seen_nodes: set[int], depth: int = 0
) -> None:
    # an aliased node is checked once: the walk must not revisit it for every alias
    if node is None or depth > 50 or id(node) in seen_nodes:
        return
    seen_nodes.add(id(node))
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
            _check_duplicate_keys(value_node, name, seen_nodes, depth + 1)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, name, seen_nodes, depth + 1)
