"""The job script's container path, with fake `docker`/`podman` commands (no real engine).

The fakes come first on a PATH that holds only the basic tools the script needs, so a real
docker or podman installed on the machine never answers in these tests.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from fleetstack.engine.secrets import env_file_bytes
from fleetstack.templates.render import (
    EXIT_NO_CONTAINER_RUNTIME,
    EXIT_TERMINATED,
    container_name,
)

from ..helpers import hostile_env, is_running, wait_for

IMAGE = "dstackai/base:py3.11-0.7-cuda-12.1"

# What the job script, the fakes and the test commands run (bash builtins aside).
HOST_TOOLS = (
    "bash",
    "base64",
    "basename",
    "cat",
    "dirname",
    "env",
    "grep",
    "head",
    "mkdir",
    "mkfifo",
    "mktemp",
    "printf",
    "pwd",
    "rm",
    "sleep",
    "tee",
    "touch",
)


@pytest.fixture
def host_path(tmp_path: Path) -> Path:
    """A folder of links to the basic tools: a PATH without any real docker or podman."""
    folder = tmp_path / "hostbin"
    folder.mkdir()
    for name in HOST_TOOLS:
        found = shutil.which(name)
        assert found, f"{name} is needed by these tests"
        (folder / name).symlink_to(found)
    return folder


class ContainerJob:
    """Runs a rendered job script with fake runtimes in front of the basic tools."""

    def __init__(self, job_runner, host_path: Path, tmp_path: Path) -> None:
        self.runner = job_runner
        self.host_path = host_path
        self.calls = tmp_path / "calls"
        self.bin = tmp_path / "fakebin"
        self.bin.mkdir(exist_ok=True)
        self.calls.mkdir(exist_ok=True)

    def environ(self, **extra: str) -> dict[str, str]:
        return self.runner.environ(PATH=f"{self.bin}:{self.host_path}", **extra)

    def run(self, job, **extra: str) -> subprocess.CompletedProcess[str]:
        script = self.runner.write(job)
        return subprocess.run(
            ["bash", str(script)],
            cwd=self.runner.project,
            env=self.environ(**extra),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def sigterm_once_the_client_runs(self, job, *, timeout: float) -> tuple[int, str]:
        """SIGTERM to the job script once the fake `run` wrote its pid: (exit code, stderr)."""
        pid_file = self.calls / "run.pid"
        return self.runner.sigterm_when(
            job,
            lambda: pid_file.exists() and pid_file.read_text().strip() != "",
            timeout=timeout,
            env=self.environ(),
        )

    def argv(self, record: str = "run.argv") -> list[str]:
        """The arguments a fake recorded (NUL-separated) in calls/<record>."""
        return self.calls.joinpath(record).read_bytes().decode().split("\0")[:-1]

    def log(self) -> list[str]:
        """The fakes' calls in order: "docker info", "podman run", ..."""
        return self.calls.joinpath("log").read_text().splitlines()

    def run_env(self) -> dict[bytes, bytes]:
        entries = self.calls.joinpath("run.env").read_bytes().split(b"\0")[:-1]
        return dict(entry.split(b"=", 1) for entry in entries)


@pytest.fixture
def container_job(job_runner, host_path, tmp_path) -> ContainerJob:
    return ContainerJob(job_runner, host_path, tmp_path)


def option_values(argv: list[str], option: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == option]


# --- docker answering -----------------------------------------------------------------------


def test_docker_run_gets_the_image_ports_gpus_shm_and_mounts(
    container_job, fake_runtime_bin, make_job
):
    fake_runtime_bin(answering=True)
    job = make_job(
        image=IMAGE,
        ports=[(8000, 80), (9000, 9000)],
        publish_addresses=["127.0.0.1", "0.0.0.0"],
        gpus=2,
        shm_size_gb=1.5,
        working_dir="src",
        commands=["touch ran-on-host"],
    )

    result = container_job.run(job)

    assert result.returncode == 0, result.stderr
    argv = container_job.argv()
    script = container_job.runner.tmp_path / "job.sh"
    project = container_job.runner.project
    assert argv[:3] == ["run", "--rm", "--init"]
    assert option_values(argv, "--name") == [container_name(job)]
    assert option_values(argv, "-p") == ["127.0.0.1:8000:80", "0.0.0.0:9000:9000"]
    assert option_values(argv, "--gpus") == ["all"]
    assert option_values(argv, "--shm-size") == ["1536m"]
    assert option_values(argv, "-v") == [f"{project}:/workflow", f"{script}:/fleetstack/job.sh:ro"]
    assert option_values(argv, "-w") == ["/workflow"]
    assert option_values(argv, "--entrypoint") == ["bash"]
    assert argv[-3:] == [IMAGE, "/fleetstack/job.sh", "--in-container"]
    # A container left by an earlier attempt of this job is removed first.
    assert container_job.argv("rm") == ["rm", "-f", container_name(job)]
    # The commands run in the container only.
    assert not (project / "ran-on-host").exists()


def test_no_gpu_no_ports_no_shm_means_no_such_flags(container_job, fake_runtime_bin, make_job):
    fake_runtime_bin(answering=True)

    result = container_job.run(make_job(image=IMAGE))

    assert result.returncode == 0, result.stderr
    argv = container_job.argv()
    for flag in ("-p", "--gpus", "--device", "--shm-size", "-e"):
        assert flag not in argv


def test_amd_gpus_get_the_rocm_devices(container_job, fake_runtime_bin, make_job):
    fake_runtime_bin(answering=True)

    container_job.run(make_job(image="rocm/pytorch", gpus=1, gpu_vendor="amd"))

    argv = container_job.argv()
    assert option_values(argv, "--device") == ["/dev/kfd", "/dev/dri"]
    assert option_values(argv, "--group-add") == ["video"]
    assert "--gpus" not in argv


def test_env_reaches_docker_byte_for_byte_and_never_on_its_command_line(
    container_job, fake_runtime_bin, make_job, tmp_path
):
    fake_runtime_bin(answering=True)
    marker = tmp_path / "marker"
    env = hostile_env(marker)

    result = container_job.run(make_job(image=IMAGE, env=env))

    assert result.returncode == 0, result.stderr
    argv = container_job.argv()
    assert option_values(argv, "-e") == list(env)
    run_env = container_job.run_env()
    for name, value in env.items():
        assert run_env[name.encode()] == value.encode("utf-8"), name
    # Values travel in the environment of docker, not in its arguments (visible in `ps`).
    joined = "\0".join(argv)
    for name in ("SUBSTITUTION", "NEWLINES", "LONG", "UNICODE"):
        assert env[name] not in joined
    assert not marker.exists()


@pytest.mark.parametrize("code", [0, 1, 3, 137])
def test_the_containers_exit_code_is_the_jobs(container_job, fake_runtime_bin, make_job, code):
    fake_runtime_bin(answering=True)

    result = container_job.run(make_job(image=IMAGE), FAKE_RUN_EXIT=str(code))

    assert result.returncode == code, result.stderr


# --- no runtime answers ------------------------------------------------------------------


def test_no_answering_runtime_exits_125_and_never_runs_on_the_host(
    container_job, fake_runtime_bin, make_job
):
    fake_runtime_bin(answering=False)
    job = make_job(image=IMAGE, commands=["touch ran-on-host"])

    result = container_job.run(job)

    assert result.returncode == EXIT_NO_CONTAINER_RUNTIME == 125
    assert result.stderr == (
        f"fleetstack: image {IMAGE} needs docker or podman, and neither is running on this "
        "machine: docker: Cannot connect to the docker engine at unix:///fake.sock.; "
        "podman: Cannot connect to the podman engine at unix:///fake.sock.\n"
    )
    assert not (container_job.runner.project / "ran-on-host").exists()
    assert not container_job.calls.joinpath("run.argv").exists()


def test_no_runtime_installed_exits_125_and_says_so(container_job, make_job):
    job = make_job(image=IMAGE, commands=["touch ran-on-host"])

    result = container_job.run(job)

    assert result.returncode == EXIT_NO_CONTAINER_RUNTIME
    assert "docker: not installed; podman: not installed" in result.stderr
    assert not (container_job.runner.project / "ran-on-host").exists()


def test_a_chosen_runtime_that_is_missing_is_not_replaced(
    container_job, fake_runtime_bin, make_job
):
    fake_runtime_bin(answering=True, names=("podman",))

    result = container_job.run(make_job(image=IMAGE, container_runtime="docker"))

    assert result.returncode == EXIT_NO_CONTAINER_RUNTIME
    assert f"image {IMAGE} needs docker (container_runtime)" in result.stderr
    assert "docker: not installed" in result.stderr
    assert not container_job.calls.joinpath("run.argv").exists()


# --- podman ------------------------------------------------------------------------------


def test_podman_runs_the_job_when_docker_is_absent(container_job, fake_runtime_bin, make_job):
    fake_runtime_bin(answering=True, names=("podman",))

    result = container_job.run(make_job(image=IMAGE, gpus=1, ports=[(8080, 80)]), FAKE_RUN_EXIT="4")

    assert result.returncode == 4, result.stderr
    assert container_job.log() == ["podman info", "podman rm", "podman run"]
    argv = container_job.argv()
    assert argv[0] == "run"
    assert option_values(argv, "-p") == ["127.0.0.1:8080:80"]  # this machine only, by default
    # podman reaches NVIDIA GPUs through CDI, not --gpus.
    assert option_values(argv, "--device") == ["nvidia.com/gpu=all"]
    assert "--gpus" not in argv


def test_podman_is_used_when_docker_does_not_answer(container_job, fake_runtime_bin, make_job):
    fake_runtime_bin(answering=False, names=("docker",))
    fake_runtime_bin(answering=True, names=("podman",))

    result = container_job.run(make_job(image=IMAGE, gpus=1))

    assert result.returncode == 0, result.stderr
    assert container_job.log() == ["docker info", "podman info", "podman rm", "podman run"]
    assert option_values(container_job.argv(), "--device") == ["nvidia.com/gpu=all"]


def test_a_chosen_podman_wins_over_an_answering_docker(container_job, fake_runtime_bin, make_job):
    fake_runtime_bin(answering=True)

    result = container_job.run(make_job(image=IMAGE, gpus=1, container_runtime="podman"))

    assert result.returncode == 0, result.stderr
    assert container_job.log() == ["podman info", "podman rm", "podman run"]
    assert option_values(container_job.argv(), "--device") == ["nvidia.com/gpu=all"]


# --- stop --------------------------------------------------------------------------------


def test_sigterm_stops_the_container_and_exits_143(container_job, fake_runtime_bin, make_job):
    fake_runtime_bin(answering=True)
    container_job.calls.joinpath("hang").touch()
    job = make_job(image=IMAGE, stop_grace_seconds=7)

    returncode, stderr = container_job.sigterm_once_the_client_runs(job, timeout=60)

    assert returncode == EXIT_TERMINATED, stderr
    assert container_job.argv("stop.argv") == ["stop", "-t", "7", container_name(job)]
    # After the stop, the container is removed by name in case the client left one behind.
    assert container_job.log() == [
        "docker info",
        "docker rm",
        "docker run",
        "docker stop",
        "docker rm",
    ]


def test_sigterm_during_the_pull_kills_the_client_and_removes_the_container(
    container_job, fake_runtime_bin, make_job
):
    # `stop` finds no container while the image is pulled: the client is killed after the
    # grace (0 s here, + 10 s for the runtime) and any container it started is removed.
    fake_runtime_bin(answering=True)
    container_job.calls.joinpath("hang").touch()
    container_job.calls.joinpath("no-container").touch()
    job = make_job(image=IMAGE, stop_grace_seconds=0)

    returncode, stderr = container_job.sigterm_once_the_client_runs(job, timeout=90)

    assert returncode == EXIT_TERMINATED, stderr
    assert container_job.log()[-2:] == ["docker stop", "docker rm"]
    assert container_job.argv("rm") == ["rm", "-f", container_name(job)]
    client = int(container_job.calls.joinpath("run.pid").read_text())
    wait_for(lambda: not is_running(client), "the killed client to be gone")


# --- a fake that runs the container's side too ---------------------------------------------


EMULATOR = r"""#!/usr/bin/env bash
# Plays docker: `run` maps the /workflow and /fleetstack/job.sh mounts onto their host folders
# and runs the entrypoint there with only the -e variables (and PATH, as an image sets it).
case "$1" in
  info|rm) exit 0 ;;
  run) shift ;;
  *) echo "emulator: unexpected $*" >&2; exit 99 ;;
esac
names=()
while (($#)); do
  case "$1" in
    -v)
      source=${2%%:*}; rest=${2#*:}; target=${rest%%:*}
      case "$target" in
        /workflow) workflow=$source ;;
        /fleetstack/job.sh) script=$source ;;
      esac
      shift 2 ;;
    -w) [[ "$2" == /workflow ]] || exit 98; shift 2 ;;
    -e) names+=("$2"); shift 2 ;;
    --entrypoint) entrypoint=$2; shift 2 ;;
    --name|-p|--shm-size|--gpus|--device|--group-add) shift 2 ;;
    --rm|--init) shift ;;
    *) break ;;
  esac
done
shift  # the image
[[ "$1" == /fleetstack/job.sh ]] || exit 97
shift
assignments=()
for name in "${names[@]}"; do
  assignments+=("$name=${!name}")
done
cd "$workflow" || exit 96
exec env -i PATH="$PATH" "${assignments[@]}" "$entrypoint" "$script" "$@"
"""


def test_inside_the_container_the_commands_run_in_working_dir_with_the_env(
    container_job, make_job, tmp_path
):
    docker = container_job.bin / "docker"
    docker.write_text(EMULATOR)
    docker.chmod(0o755)
    project = container_job.runner.project
    (project / "src").mkdir()
    marker = tmp_path / "marker"
    env = hostile_env(marker)
    commands = [
        "pwd > where.txt",
        "mkdir -p out",
        *[f"printf '%s' \"${name}\" > out/{name}" for name in env],
        "exit 6",
    ]

    result = container_job.run(make_job(image=IMAGE, env=env, working_dir="src", commands=commands))

    assert result.returncode == 6, result.stderr
    assert (project / "src" / "where.txt").read_text().strip() == str((project / "src").resolve())
    for name, value in env.items():
        assert (project / "src" / "out" / name).read_bytes() == value.encode("utf-8"), name
    assert not marker.exists()


def test_the_secret_env_file_is_mounted_read_only_and_read_inside(
    container_job, make_job, tmp_path
):
    docker = container_job.bin / "docker"
    docker.write_text(EMULATOR)  # it runs the host's script, which finds job.env beside it
    docker.chmod(0o755)
    env_file = container_job.runner.tmp_path / "job.env"
    env_file.write_bytes(env_file_bytes({"TOKEN": "hf_in_the_container"}))
    job = make_job(image=IMAGE, env={"TOKEN": "sha256:digest"}, secret_env=["TOKEN"],
                   commands=["printf '%s' \"$TOKEN\" > token.out"])  # fmt: skip

    result = container_job.run(job)

    assert result.returncode == 0, result.stderr
    assert (container_job.runner.project / "token.out").read_text() == "hf_in_the_container"
    assert not env_file.exists()  # deleted by the host's script once the container ended
    script = (container_job.runner.tmp_path / "job.sh").read_text()
    assert 'args+=(-v "$_fs_env_file:/fleetstack/job.env:ro")' in script


def test_inside_the_container_a_missing_working_dir_fails_clearly(container_job, make_job):
    docker = container_job.bin / "docker"
    docker.write_text(EMULATOR)
    docker.chmod(0o755)

    result = container_job.run(make_job(image=IMAGE, working_dir="nope", commands=["true"]))

    assert result.returncode == 2
    assert "fleetstack: working_dir nope does not exist" in result.stderr


def test_host_path_holds_no_container_runtime(host_path):
    assert not {"docker", "podman"} & set(os.listdir(host_path))


def test_env_that_steers_the_runtime_or_the_shell_still_reaches_only_the_commands(
    container_job, make_job, tmp_path
):
    # PATH (where the container's bash and the script's tools are looked up), TMPDIR, CDPATH,
    # HOME and DOCKER_* would change how the container starts or how docker itself runs.
    docker = container_job.bin / "docker"
    docker.write_text(EMULATOR)
    docker.chmod(0o755)
    env = {
        "PATH": "/opt/conda/bin:/nonexistent",
        "TMPDIR": "/nonexistent/tmp",
        "CDPATH": "/",
        "HOME": "/workspace",
        "DOCKER_HOST": "tcp://203.0.113.1:2375",
        "BASH_ENV": "/nonexistent/rc",
        "LD_PRELOAD": "/nonexistent/lib.so",
        "PLAIN": "kept",
    }
    # printf is a builtin: with this PATH, the commands find no mkdir.
    commands = [f"printf '%s' \"${name}\" > out/{name}" for name in env]
    (container_job.runner.project / "src" / "out").mkdir(parents=True)

    result = container_job.run(make_job(image=IMAGE, env=env, commands=commands, working_dir="src"))

    assert result.returncode == 0, result.stderr
    for name, value in env.items():
        out = container_job.runner.project / "src" / "out" / name
        assert out.read_text() == value, name


def test_env_that_steers_the_runtime_is_not_given_to_docker(
    container_job, fake_runtime_bin, make_job
):
    fake_runtime_bin(answering=True)
    env = {
        "PATH": "/opt/conda/bin",
        "HOME": "/workspace",
        "DOCKER_CONFIG": "/nonexistent",
        "DOCKER_HOST": "tcp://203.0.113.1:2375",
        "CONTAINER_HOST": "ssh://203.0.113.1",
        "TMPDIR": "/nonexistent",
        "LD_LIBRARY_PATH": "/usr/local/cuda/lib64",
        "HF_TOKEN": "hf_x",
    }

    result = container_job.run(make_job(image=IMAGE, env=env))

    assert result.returncode == 0, result.stderr
    assert option_values(container_job.argv(), "-e") == ["HF_TOKEN"]
    client_env = container_job.run_env()
    assert client_env[b"HF_TOKEN"] == b"hf_x"
    assert client_env[b"PATH"] == container_job.environ()["PATH"].encode()
    assert client_env[b"HOME"] == container_job.environ()["HOME"].encode()
    for name in ("DOCKER_CONFIG", "DOCKER_HOST", "CONTAINER_HOST", "LD_LIBRARY_PATH"):
        assert name.encode() not in client_env
    # The script inside the container still exports every value for the commands.
    script = (container_job.runner.tmp_path / "job.sh").read_text()
    inside = script.split("\n_fs_export_env() {\n", 1)[1].split("\n}\n", 1)[0]
    assert inside.count("  _fs_setenv ") == len(env)
