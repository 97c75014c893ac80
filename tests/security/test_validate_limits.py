"""`dstack validate` refuses what `apply` could not run: a NUL in an env value or a command,
an env value over the kernel's per-string limit, a port given twice, the SSH port."""

from __future__ import annotations

import pytest

from .conftest import dstack

HEAD = "type: task\ncommands: [echo]\n"


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (
            'env:\n  A: "x\\0y"\n',
            "4: env.A: contains a NUL byte, which no environment variable can hold",
        ),
        (
            "env:\n  - BIG=" + "x" * 200_000 + "\n",
            "4: env.BIG: is 200005 bytes; the kernel passes at most 131072 bytes per variable "
            "(MAX_ARG_STRLEN): put the data in a file of the project and pass its path",
        ),
        (
            "ports: [8080, 8080]\n",
            "3: ports[1]: container port 8080 is already given at ports[0]: give each port once",
        ),
        (
            'ports: ["9000:80", "9000:81"]\n',
            "3: ports[1]: local port 9000 is already given at ports[0]: two ports cannot be "
            "published on the same local port",
        ),
        (
            "ports: [22]\n",
            "3: ports[0]: port 22 is reserved: the instance's SSH server listens on it; use "
            "another port",
        ),
    ],
    ids=["nul", "arg-max", "duplicate-container", "duplicate-local", "ssh"],
)
def test_validate_refuses_what_apply_cannot_run(tmp_path, body, error):
    path = tmp_path / "bad.dstack.yml"
    path.write_text(HEAD + body)
    proc = dstack("validate", str(path))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() + proc.stderr.splitlines() == [f"{path}:{error}"]


def test_a_service_cannot_listen_on_the_ssh_port(tmp_path):
    path = tmp_path / "svc.dstack.yml"
    path.write_text("type: service\nport: 22\ncommands: [echo]\n")
    proc = dstack("validate", str(path))
    assert proc.returncode == 1
    assert proc.stdout.splitlines() + proc.stderr.splitlines() == [
        f"{path}:2: port: port 22 is reserved: the instance's SSH server listens on it; use "
        "another port"
    ]


def test_values_just_under_the_limits_pass(tmp_path):
    path = tmp_path / "ok.dstack.yml"
    value = "x" * (131072 - len("BIG=") - 2)  # NAME=VALUE and its NUL: exactly the limit
    path.write_text(HEAD + f"env:\n  - BIG={value}\nports: [8080, 8081, '9000:80']\n")
    proc = dstack("validate", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
