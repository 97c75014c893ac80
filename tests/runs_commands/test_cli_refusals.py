"""A refusal of `dstack apply` points only to something that works (through the real CLI)."""

from __future__ import annotations

import pytest

from .conftest import dstack, ps_json


def apply(project, body: str, *flags: str):
    path = project / "refused.dstack.yml"
    path.write_text("type: task\nname: refused\n" + body)
    proc = dstack("apply", "-f", str(path), "-y", *flags, cwd=project)
    assert proc.returncode == 1, proc.stdout
    assert "Traceback" not in proc.stderr
    assert ps_json("-a") == {}  # refused before anything was created
    return " ".join(proc.stderr.split())  # rich wraps long lines on a narrow stderr


def test_a_gpu_this_machine_lacks_is_told_where_it_is_offered(project):
    message = apply(project, "commands: [nvidia-smi]\nresources:\n  gpu: H100:8\n")
    assert "8xH100" in message and "is offered on " in message
    offered = message.split("is offered on ", 1)[1].split(", but", 1)[0]
    assert {"aws", "gcp"} <= set(offered.replace(" and others", "").split(", "))
    assert "this machine cannot run it either: no offer has 8 × H100 on backends local" in message
    assert "-b local" not in message


def test_a_cloud_only_offer_that_fits_this_machine_suggests_it(project):
    message = apply(project, "commands: [echo hi]\nbackends: [aws]\n")
    assert "is offered on aws, and no idle instance of a fleet fits it" in message
    assert "a fleet is created for the run only on a configured backend" in message
    assert "run on this machine with `-b local`" in message


@pytest.mark.parametrize("flags", [["-b", "local"], []])
def test_two_nodes_on_this_machine_name_the_node_count(project, flags):
    message = apply(project, "nodes: 2\ncommands: [echo hi]\n", *flags)
    assert "for 2 nodes (local: this machine is a single node: set nodes: 1 to run there)" in (
        message
    )
    assert "run on this machine with" not in message


def test_a_python_this_machine_does_not_run_is_refused_naming_the_one_it_runs(project):
    message = apply(project, 'python: "3.9"\ncommands: [python --version]\n')
    assert 'python: "3.9": the local backend runs commands with this machine\'s Python 3.' in (
        message
    )
    assert "write python: " in message and "or remove `python:`" in message
    shown = message.split("Python ", 1)[1].split()[0]  # e.g. 3.11.7
    same = project / "same.dstack.yml"
    minor = ".".join(shown.split(".")[:2])
    same.write_text(f'type: task\nname: same\npython: "{minor}"\ncommands: [python --version]\n')
    proc = dstack("apply", "-f", str(same), "-y", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert f"Python {shown}".encode() in proc.stdout
