"""A `nodes: 2` task on a cluster SSH fleet of two hosts, each a network namespace with its
own sshd and address: one job per host, each with its rank and the nodes' addresses."""

from __future__ import annotations

from pathlib import Path

from .helpers import dstack, fleet_file, ps_json, task_file


def _cluster(sshd, netns, folder: Path):
    spaces = netns(2)
    daemons = [
        sshd(f"node{i}", address=spaces.host_address(i), port=22, netns=name)
        for i, name in enumerate(spaces.names)
    ]
    hosts = "".join(
        f"    - hostname: {d.address}\n      internal_ip: {d.address}\n" for d in daemons
    )
    path = fleet_file(folder, "onprem", [], hosts=hosts, extra="placement: cluster\n")
    proc = dstack("apply", "-f", str(path), "-y", cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return spaces, daemons


def _run_on_cluster(sshd, netns, tmp_path: Path, name: str, commands: list[str]):
    """A two-host cluster fleet, then `dstack apply` of a `nodes: 2` task `name` on it:
    the daemons and the finished apply."""
    folder = tmp_path / "project"
    folder.mkdir()
    _, daemons = _cluster(sshd, netns, folder)
    task = task_file(folder, name, commands, extra="nodes: 2\n")
    return daemons, dstack("apply", "-f", str(task), "-y", cwd=folder)


def test_each_node_gets_its_rank_the_master_and_the_node_addresses(sshd, netns, tmp_path):
    commands = [
        "echo rank=$DSTACK_NODE_RANK master=$DSTACK_MASTER_NODE_IP nodes=$DSTACK_NODES_NUM",
        'echo "ips=$(echo $DSTACK_NODES_IPS)"',
        "echo addr=$(ip -4 -o addr show eth0 | awk '{print $4}')",
        "echo home=$HOME",
    ]
    daemons, proc = _run_on_cluster(sshd, netns, tmp_path, "pair", commands)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    first, second = (d.address for d in daemons)
    for rank, daemon in enumerate(daemons):
        [job] = list((daemon.home / ".fleetstack" / "jobs").iterdir())
        assert (job / "output.log").read_text() == (
            f"rank={rank} master={first} nodes=2\nips={first} {second}\n"
            f"addr={daemon.address}/24\nhome={daemon.home}\n"
        )
    assert ps_json()["pair"]["status"] == "done"
    # the attached apply interleaves the nodes' output, each line with its node
    for rank, daemon in enumerate(daemons):
        assert f"[node {rank}] rank={rank} master={first} nodes=2\n" in proc.stdout
        assert f"[node {rank}] addr={daemon.address}/24\n" in proc.stdout


def test_one_node_failing_fails_the_run_and_stops_the_other(sshd, netns, tmp_path):
    commands = [
        "trap 'echo node $DSTACK_NODE_RANK stopped; exit 0' TERM",
        'if [ "$DSTACK_NODE_RANK" = 1 ]; then echo failing; exit 7; fi',
        "while true; do sleep 0.1; done",
    ]
    daemons, proc = _run_on_cluster(sshd, netns, tmp_path, "halfbroken", commands)
    assert proc.returncode == 7, proc.stdout + proc.stderr  # the failing node's exit code
    run = ps_json()["halfbroken"]
    assert (run["status"], run["termination_reason"]) == ("failed", "job_failed"), run
    logs = [
        (next((d.home / ".fleetstack" / "jobs").iterdir()) / "output.log").read_text()
        for d in daemons
    ]
    assert logs[0].endswith("node 0 stopped\n") and logs[1] == "failing\n"
    codes = [(next((d.home / ".fleetstack" / "jobs").iterdir()) / "exit_code").read_text()
             for d in daemons]  # fmt: skip
    assert codes == ["143\n", "7\n"]  # the job script exits 143 after SIGTERM
