"""The documentation corpus holds only our own text, shaped as the configurations it came from."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from agreement import cases  # noqa: E402
from rewrite import rewrite  # noqa: E402

NAME_RULE = re.compile(r"^[a-z][a-z0-9-]{1,40}$")  # the run name rule dstack's server applies

DOCUMENT = """\
type: task
# a comment the corpus must not keep
name: Train_Model-2
image: ghcr.io/someone/trainer:v1.2
files:
  - ~/.ssh/key:/root/.ssh/key
  - ../configs
env:
  - TOKEN
  - MODEL=some/model-name
  - KEY=${{ secrets.api_key }}
commands:
  - pip install -r requirements.txt
  - torchrun --nproc-per-node $DSTACK_GPUS_PER_NODE train.py ${{ run.args }}
working_dir: /workspace/project
resources:
  gpu: A100:40GB:2
  disk: 24GB..
spot_policy: auto
max_duration: 2h
ports: ["8000:80"]
volumes:
  - name: data-${{ dstack.node_rank }}
    path: /data
"""


def test_a_document_keeps_its_shape_and_loses_its_text():
    out = rewrite(DOCUMENT)
    data = yaml.safe_load(out)
    assert "comment" not in out and "someone" not in out and "torchrun" not in out
    assert not NAME_RULE.match(data["name"]) and len(data["name"]) == len("Train_Model-2")
    assert data["name"][5] == "_" and data["name"][0].isupper() and data["name"].endswith("-2")
    assert re.fullmatch(r"registry\.example\.com/example/image-\d+:tag", data["image"])
    assert data["files"][0].startswith("~/") and ":/" in data["files"][0]
    assert data["files"][1].startswith("../") and ":" not in data["files"][1]
    assert data["env"][0] == "TOKEN" and re.fullmatch(r"MODEL=value-\d+", data["env"][1])
    assert re.fullmatch(r"KEY=\$\{\{ secrets\.secret_1 \}\}", data["env"][2])
    assert data["commands"][0] == "echo step-1"
    assert data["commands"][1] == "echo step-2 ${{ run.args }} $DSTACK_GPUS_PER_NODE"
    assert data["working_dir"].startswith("/") and "workspace" not in data["working_dir"]
    assert data["resources"] == {"gpu": "A100:40GB:2", "disk": "24GB.."}
    assert (data["spot_policy"], data["max_duration"], data["ports"]) == ("auto", "2h", ["8000:80"])
    assert data["volumes"][0]["name"].endswith("-${{ dstack.node_rank }}")
    assert list(data) == [k for k in yaml.safe_load(DOCUMENT)]


def test_a_valid_name_stays_valid():
    name = yaml.safe_load(rewrite("type: service\nname: llama31-service\n"))["name"]
    assert NAME_RULE.match(name) and name != "llama31-service"


def test_every_documentation_case_is_already_rewritten():
    documented = [c for c in cases() if c.folder == "docs"]
    assert len(documented) > 400
    assert [c.name for c in documented if rewrite(c.yaml) != c.yaml] == []
    for case in documented:
        commands = yaml.safe_load(case.yaml).get("commands") or []
        for command in [commands] if isinstance(commands, str) else commands:
            assert re.match(r"^echo step-\d+( |$)", command), (case.name, command)
