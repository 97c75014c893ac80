"""The plan tests drive the real CLI; fleets go through the recording stack engine."""

from __future__ import annotations

from pathlib import Path

from ..engines.conftest import RecordingCLI, recording_cli  # noqa: F401 (the fixture)

FLEET = "type: fleet\nname: rec\nbackends: [aws]\nnodes: {nodes}\nresources:\n  gpu: T4\n{extra}"


def fleet_file(folder: Path, *, nodes: str = "1", extra: str = "", name: str = "fleet") -> Path:
    """A fleet file `rec` on aws with T4 GPUs: `nodes` and any `extra` YAML lines."""
    path = folder / f"{name}.dstack.yml"
    path.write_text(FLEET.format(nodes=nodes, extra=extra))
    return path


def applied(cli: RecordingCLI, *args: str) -> str:
    """`dstack apply ARGS`, which must succeed; its stdout and stderr."""
    result = cli("apply", *args)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout + result.stderr
