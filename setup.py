"""Maps the product card's top-level folders onto one import root, `fleetstack`.

engine/ -> fleetstack.engine, stacks/ -> fleetstack.stacks, templates/ -> fleetstack.templates,
cli/ -> fleetstack.cli. `fleetstack` itself is a namespace package (no folder), so nothing
generic such as `cli` lands in site-packages. Every folder with an __init__.py below these
is a subpackage; every non-Python file in a package ships as package data.
"""

from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
TOP_LEVEL = ("engine", "stacks", "templates", "cli")
DATA_PATTERNS = [
    "*.j2",
    "*.csv",
    "*.zip",
    "*.ini",
    "*.mako",
    "*.json",
    "*.yml",
    "*.yaml",
    "*.txt",
    "*.sh",
    "version",
]


def _packages() -> dict[str, str]:
    found = {}
    for top in TOP_LEVEL:
        for init in sorted((ROOT / top).rglob("__init__.py")):
            rel = init.parent.relative_to(ROOT)
            if "__pycache__" in rel.parts:
                continue
            found["fleetstack." + ".".join(rel.parts)] = rel.as_posix()
    return found


packages = _packages()
setup(
    packages=list(packages),
    package_dir=packages,
    package_data={name: DATA_PATTERNS for name in packages},
)
