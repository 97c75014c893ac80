"""The source tree as the house checks read it: our modules parsed with `ast`, their imports
resolved to module names (relative ones included), each import marked lazy when it sits in a
function and skipped when it sits under `if TYPE_CHECKING:`."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOP_LEVEL = ("engine", "stacks", "templates", "cli")
ROOT_PACKAGE = "fleetstack"  # a namespace package: it has no folder in the repo


@dataclass(frozen=True)
class SourceModule:
    name: str  # fleetstack.engine.runner.supervisor
    path: Path
    tree: ast.Module

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @property
    def rel(self) -> str:
        return self.path.relative_to(REPO).as_posix()


@dataclass(frozen=True)
class ImportStatement:
    """One `import` / `from ... import` statement of a module, where it stands."""

    node: ast.Import | ast.ImportFrom
    lazy: bool  # inside a function body

    @property
    def line(self) -> int:
        return self.node.lineno


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int
    lazy: bool


class SourceTree:
    """Every module of engine/, stacks/, templates/ and cli/, and the imports between them."""

    repo = REPO
    top_level = TOP_LEVEL

    def __init__(self) -> None:
        self.modules: dict[str, SourceModule] = {}
        for top in TOP_LEVEL:
            for path in sorted((REPO / top).rglob("*.py")):
                if "__pycache__" in path.parts:
                    continue
                parts = list(path.relative_to(REPO).with_suffix("").parts)
                if parts[-1] == "__init__":
                    parts.pop()
                name = ".".join([ROOT_PACKAGE, *parts])
                tree = ast.parse(path.read_text(), filename=str(path))
                self.modules[name] = SourceModule(name=name, path=path, tree=tree)

    def statements(self, module: SourceModule) -> Iterator[ImportStatement]:
        """The module's import statements, those under `if TYPE_CHECKING:` left out."""
        yield from _walk(module.tree, lazy=False)

    def edges(self, module: SourceModule) -> Iterator[Edge]:
        """An edge per module imported: `from pkg import name` goes to pkg.name when that is
        one of our modules, else to pkg; imports of other libraries are left out."""
        for statement in self.statements(module):
            for target in self._targets(module, statement.node):
                if target in self.modules and target != module.name:
                    yield Edge(module.name, target, statement.line, statement.lazy)

    def _targets(self, module: SourceModule, node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = absolute_module(module, node)
        return [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in self.modules else base
            for alias in node.names
        ]


def absolute_module(module: SourceModule, node: ast.ImportFrom) -> str:
    """The absolute name of the module a `from X import ...` statement reads from."""
    if node.level == 0:
        return node.module or ""
    package = module.name.split(".")
    if not module.is_package:
        package.pop()
    if node.level > 1:
        package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, node.module] if node.module else package)


@pytest.fixture(scope="session")
def source_tree() -> SourceTree:
    return SourceTree()


def _walk(parent: ast.AST, *, lazy: bool) -> Iterator[ImportStatement]:
    for node in ast.iter_child_nodes(parent):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield ImportStatement(node=node, lazy=lazy)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for other in node.orelse:
                yield from _walk(ast.Module(body=[other], type_ignores=[]), lazy=lazy)
        else:
            inner = lazy or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from _walk(node, lazy=inner)


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
