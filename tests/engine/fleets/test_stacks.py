"""From a plan to a StackSpec: what the fleet's stack is asked to create for a configuration."""

from __future__ import annotations

import base64
import gzip
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from fleetstack.engine.config import load_configuration
from fleetstack.engine.errors import FleetstackError
from fleetstack.engine.fleets.for_run import fleet_job
from fleetstack.engine.fleets.stacks import stack_spec_for
from fleetstack.engine.services.plan import build_plan
from fleetstack.templates.render import INSTANCE_JOB_SCRIPT_PATH

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGZsZWV0c3RhY2s test"


def _plan(tmp_path: Path, text: str, **overrides: object):
    path = tmp_path / "conf.dstack.yml"
    path.write_text(text)
    return build_plan(load_configuration(path), overrides)


def _job_script(user_data: str) -> str:
    document = yaml.safe_load(user_data.split("\n", 1)[1])
    entry = next(f for f in document["write_files"] if f["path"] == INSTANCE_JOB_SCRIPT_PATH)
    return gzip.decompress(base64.b64decode(entry["content"])).decode()


def test_a_multi_node_task_on_aws_asks_for_its_offer_in_one_placement_group(tmp_path):
    plan = _plan(
        tmp_path,
        "type: task\nname: train\nnodes: 2\npython: '3.11'\ncommands: [python train.py]\n"
        "ports: [6000]\nbackends: [aws]\nspot_policy: spot\nmax_price: 3\n"
        "resources:\n  gpu: L4\n  disk: 250GB..\n",
    )
    offer = plan.chosen_offer

    spec = stack_spec_for(plan, offer, ssh_public_key=KEY)

    assert (spec.cloud, spec.region, spec.instance_type) == (
        "aws",
        offer.region,
        offer.instance_type,
    )
    assert spec.nodes == 2 and spec.placement_cluster
    assert spec.spot and spec.max_price == 3
    assert spec.disk_gb == 250
    assert (spec.gpu_name, spec.gpu_count, spec.gpu_vendor) == ("L4", 1, "nvidia")
    assert spec.ports == (6000,)
    assert spec.fleet == "train" and spec.tags == {"run": "train"}
    # the instance only gets ready: the job comes over SSH once the project is uploaded
    assert "python train.py" not in _job_script(spec.user_data)
    assert KEY in spec.user_data
    # python: without image: the job runs in dstack's base image for that Python
    job = fleet_job(plan.configuration, "train", "id", 1, nodes=2)
    assert job.image is not None and job.image.startswith("dstackai/base:py3.11-")
    assert job.ports == [(6000, 6000)]  # each container port published as itself


def test_a_fleet_gets_instances_ready_without_a_job(tmp_path):
    plan = _plan(
        tmp_path,
        "type: fleet\nname: gpus\nnodes: 3\nbackends: [gcp]\nresources:\n  gpu: T4\n",
    )

    spec = stack_spec_for(plan, plan.chosen_offer, ssh_public_key=KEY)

    assert spec.cloud == "gcp" and spec.nodes == 3 and not spec.placement_cluster
    assert spec.ports == () and spec.tags == {}
    document = yaml.safe_load(spec.user_data.split("\n", 1)[1])
    assert document["ssh_authorized_keys"] == [KEY]


def test_the_user_data_of_a_cloud_task_passes_cloud_init_schema(tmp_path):
    tool = shutil.which("cloud-init")
    if tool is None:
        pytest.skip("`cloud-init` is not installed (`apt-get install -y cloud-init`)")
    plan = _plan(
        tmp_path,
        'type: task\nname: tt\ncommands: [echo hi]\nenv:\n  Q: "it\'s $(touch /tmp/x)"\n'
        "backends: [azure]\nresources:\n  gpu: T4\n",
    )
    spec = stack_spec_for(plan, plan.chosen_offer, ssh_public_key=KEY)
    path = tmp_path / "user-data"
    path.write_text(spec.user_data)

    result = subprocess.run([tool, "schema", "--config-file", str(path)], capture_output=True)

    assert result.returncode == 0, result.stderr


def test_an_offer_without_a_stack_program_is_a_clear_error(tmp_path):
    plan = _plan(
        tmp_path,
        "type: fleet\nname: lam\nnodes: 1\nbackends: [lambdalabs]\nresources:\n  gpu: A100\n",
    )

    assert plan.chosen_offer is None
    assert [p.backend for p in plan.passed_over] == ["lambdalabs"]
    with pytest.raises(FleetstackError, match="lambdalabs offers cannot be provisioned"):
        stack_spec_for(plan, plan.offers.offers[0], ssh_public_key=KEY)


def test_a_mapped_port_is_published_on_the_instance_as_the_container_port(tmp_path):
    plan = _plan(
        tmp_path,
        "type: task\nname: web\ncommands: [serve]\nports: ['9000:9090', 8000]\n"
        "backends: [aws]\nresources:\n  gpu: L4\n",
    )

    spec = stack_spec_for(plan, plan.chosen_offer, ssh_public_key=KEY)

    assert spec.ports == (8000, 9090)
    script = _job_script(spec.user_data)
    assert "9090:9090" in script and "8000:8000" in script
    assert "9000:9090" not in script


def _backstop_settings(user_data: str) -> str | None:
    from fleetstack.templates.backstop import CONFIG_PATH

    document = yaml.safe_load(user_data.split("\n", 1)[1])
    entry = next((f for f in document["write_files"] if f["path"] == CONFIG_PATH), None)
    return None if entry is None else entry["content"]


@pytest.mark.parametrize(
    ("text", "settings"),
    [
        ("type: fleet\nname: fl\nnodes: 0..1\nidle_duration: 1h\n", "IDLE_SECONDS=3900\n"),
        ("type: fleet\nname: fl\nnodes: 0..1\nidle_duration: off\n", None),
        ("type: fleet\nname: fl\nnodes: 1\nidle_duration: 1h\n", None),  # kept: nodes.min 1
        ("type: task\nname: tk\ncommands: [echo hi]\n", "IDLE_SECONDS=600\n"),  # 5m default
        (
            "type: task\nname: tk\ncommands: [echo]\ntermination_idle_time: 2m\n",
            "IDLE_SECONDS=420\n",
        ),
    ],
    ids=["fleet-1h", "fleet-off", "fleet-min", "run-default", "run-legacy-key"],
)
def test_the_backstop_follows_the_idle_duration_plus_its_margin(tmp_path, text, settings):
    plan = _plan(tmp_path, text + "backends: [aws]\n")

    spec = stack_spec_for(plan, plan.chosen_offer, ssh_public_key=KEY)

    found = _backstop_settings(spec.user_data)
    assert (found.splitlines()[0] + "\n" if found else None) == settings
