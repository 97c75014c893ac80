"""Runs on an SSH host: time to the first log line, and log streaming throughput.

    .venv/bin/python benchmarks/ssh_run.py [--runs 5] [--megabytes 100]

A real sshd on a free port of 127.0.0.1 (own host key, authorized_keys = the project key)
is registered as an SSH fleet; then
(a) wall time from starting `dstack apply -f hello.dstack.yml -y` (fleets: [bench]) to the
    job's first output line on its stdout (target <= 1.5 s), median of N; the host key is
    known and sshd is warm, but every apply opens its own connections (no shared master);
(b) a job printing --megabytes MB: MB/s from the first to the last byte on the terminal.
Prints figures, asserts nothing. Needs root and /usr/sbin/sshd.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the same measurement as the local one (this folder is on sys.path when run as a script)
from local_run import MARKER, _first_log_line

TARGET_FIRST_LINE = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--megabytes", type=int, default=100)
    args = parser.parse_args()
    dstack = Path(sys.executable).parent / "dstack"
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").exists():
        sys.exit("needs root and /usr/sbin/sshd (apt-get install -y openssh-server)")
    print(f"cpus: {os.cpu_count()}  runs: {args.runs}  python: {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = {**os.environ, "HOME": str(root / "home"), "DSTACK_HOME": str(root / "dstack")}
        project = root / "project"
        project.mkdir()
        # the project key: created by the first SSH use; made here so sshd can authorize it
        subprocess.run([str(dstack), "ps"], env=env, capture_output=True, check=False)
        key = _project_key(env)
        daemon, port = _sshd(root / "sshd", key)
        try:
            _fleet(dstack, project, env, port)
            (project / "hello.dstack.yml").write_text(_task("hello", [f"echo {MARKER}"]))
            _first_log_line(dstack, project, env)  # warm: host key known, files cached
            times = [_first_log_line(dstack, project, env) for _ in range(args.runs)]
            median = statistics.median(times)
            verdict = "ok" if median <= TARGET_FIRST_LINE else "OVER TARGET"
            print(
                f"(a) apply -y -> first log line over SSH: median {median:.2f} s "
                f"(min {min(times):.2f}, max {max(times):.2f}; target <= "
                f"{TARGET_FIRST_LINE} s: {verdict})"
            )
            size = args.megabytes << 20
            line = "x" * 1023
            flood = f"yes {line} | head -c {size}"
            (project / "flood.dstack.yml").write_text(_task("flood", [flood]))
            seconds, got = _throughput(dstack, project, env, size)
            print(
                f"(b) log streaming: {got / 1e6:.0f} MB in {seconds:.2f} s = "
                f"{got / 1e6 / seconds:.1f} MB/s reaching the terminal"
            )
        finally:
            daemon.terminate()
            daemon.wait(10)


def _task(name: str, commands: list[str]) -> str:
    body = "".join(f"  - {c!r}\n".replace("'", '"') for c in commands)
    return (
        f"type: task\nname: {name}\nfleets: [bench]\ncommands:\n{body}"
        "resources:\n  cpu: 1..\n  memory: 1GB..\n  disk: 1GB..\n"
    )


def _project_key(env: dict[str, str]) -> str:
    home = Path(env["DSTACK_HOME"])
    code = (
        "import sys; from pathlib import Path; from fleetstack.engine.runner.keys import "
        "project_key; print(project_key(Path(sys.argv[1])).public_key)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(home)], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def _sshd(folder: Path, public_key: str) -> tuple[subprocess.Popen[bytes], int]:
    folder.mkdir()
    (folder / "home").mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "hk")],
                   check=True)  # fmt: skip
    (folder / "keys").write_text(public_key + "\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    lines = [
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {folder}/hk",
        f"PidFile {folder}/pid", f"AuthorizedKeysFile {folder}/keys", "StrictModes no",
        "UsePAM no", "PasswordAuthentication no", f"SetEnv HOME={folder}/home",
    ]  # fmt: skip
    (folder / "cfg").write_text("\n".join(lines) + "\n")
    Path("/run/sshd").mkdir(exist_ok=True)
    daemon = subprocess.Popen(["/usr/sbin/sshd", "-D", "-f", str(folder / "cfg")])
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    return daemon, port


def _fleet(dstack: Path, project: Path, env: dict[str, str], port: int) -> None:
    path = project / "fleet.dstack.yml"
    path.write_text(
        f"type: fleet\nname: bench\nssh_config:\n  user: root\n  hosts:\n"
        f"    - hostname: 127.0.0.1\n      port: {port}\n"
    )
    subprocess.run([str(dstack), "apply", "-f", str(path), "-y"], env=env, cwd=project,
                   check=True, capture_output=True)  # fmt: skip


def _throughput(dstack: Path, project: Path, env: dict[str, str], size: int) -> tuple[float, int]:
    proc = subprocess.Popen(
        [str(dstack), "apply", "-f", "flood.dstack.yml", "-y"],
        cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    got, first, last = 0, 0.0, 0.0
    while chunk := proc.stdout.read1(1 << 20):
        if not first and b"x" * 100 not in chunk:
            continue  # the plan, before the job's output
        now = time.perf_counter()
        first = first or now
        last = now
        got += len(chunk)
    proc.wait()
    return last - first, min(got, size)


if __name__ == "__main__":
    main()
