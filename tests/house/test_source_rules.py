"""Rules of the house read from the source: module size, `Any`, the folder tree being the
import tree, and a CLI entry module that loads no heavy library."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

MAX_LINES = 500
MAX_ANY_LINES = 40
HEAVY = (
    "pulumi",
    "pulumi_aws",
    "pulumi_gcp",
    "pulumi_azure_native",
    "sqlalchemy",
    "alembic",
    "jinja2",
    "gpuhunt",
    "pydantic",
    "boto3",
)
# Files run by another program, where our package is not the importer: absolute imports.
ABSOLUTE_IMPORTS_ALLOWED = {
    "engine/state/migrations/env.py": "alembic runs it as a script, not as part of a package",
}
ANY_WORD = re.compile(r"\bAny\b")


def test_the_cli_entry_module_loads_no_heavy_library():
    code = "import json, sys; import fleetstack.cli.main; print(json.dumps(sorted(sys.modules)))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(proc.stdout)
    assert "fleetstack.cli.main" in loaded
    heavy = [m for m in loaded if m.split(".")[0] in HEAVY]
    assert not heavy, f"importing fleetstack.cli.main loads {', '.join(heavy)}"


def test_every_module_is_at_most_500_lines(source_tree):
    sizes = {m.rel: len(m.path.read_text().splitlines()) for m in source_tree.modules.values()}
    assert len(sizes) > 50  # the walk saw the tree
    too_long = {rel: n for rel, n in sizes.items() if n > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines (split by responsibility): {too_long}"


def _any_lines(source_tree) -> list[str]:
    return [
        f"{m.rel}:{number}"
        for m in source_tree.modules.values()
        for number, line in enumerate(m.path.read_text().splitlines(), 1)
        if ANY_WORD.search(line)
    ]


def test_at_most_40_lines_mention_any(source_tree):
    lines = _any_lines(source_tree)
    assert len(lines) <= MAX_ANY_LINES, f"{len(lines)} lines mention Any:\n" + "\n".join(lines)


def test_relative_imports_resolve_to_files_or_folders(source_tree):
    """What an editor does: `from ..x.y import z` names a file or folder of the repo, found
    from the importing file's folder alone, inside engine/, stacks/, templates/ or cli/."""
    repo = source_tree.repo
    broken = []
    for module in source_tree.modules.values():
        for statement in source_tree.statements(module):
            node = statement.node
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            folder = module.path.parents[node.level - 1]
            target = folder.joinpath(*(node.module.split(".") if node.module else []))
            inside = target.is_relative_to(repo) and target != repo
            top = target.relative_to(repo).parts[0] if inside else ""
            exists = target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()
            if top not in source_tree.top_level or not exists:
                broken.append(f"{module.rel}:{node.lineno}: {ast.unparse(node)}")
    assert not broken, "relative imports that name no file or folder:\n" + "\n".join(broken)


def test_no_absolute_imports_of_our_package_inside_it(source_tree):
    found = []
    for module in source_tree.modules.values():
        if module.rel in ABSOLUTE_IMPORTS_ALLOWED:
            continue
        for statement in source_tree.statements(module):
            node = statement.node
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if node.level == 0
                else []
            )
            if any(name == "fleetstack" or name.startswith("fleetstack.") for name in names):
                found.append(f"{module.rel}:{node.lineno}: {ast.unparse(node)}")
    assert not found, "absolute imports of fleetstack (use relative ones):\n" + "\n".join(found)
