"""dstack 0.22.5's fields as our models read them: short forms, defaults, what they become."""

from __future__ import annotations

from pathlib import Path

import pytest
from fleetstack.engine.backends import registry
from fleetstack.engine.config import load_configuration
from fleetstack.engine.config.common import known_backends
from fleetstack.engine.config.loader import NotCreatedYet
from fleetstack.engine.config.support import not_run_yet
from fleetstack.engine.config.validation import validate_file
from fleetstack.engine.errors import ConfigurationError


def load(tmp_path: Path, text: str):
    path = tmp_path / "case.dstack.yml"
    path.write_text(text)
    return load_configuration(path, profiles=False).configuration


def test_task_node_groups_are_named_by_index_and_keep_runtime_references(tmp_path):
    conf = load(
        tmp_path,
        "type: task\ngroups:\n  - name: head\n    commands: [serve]\n"
        "  - nodes: 3\n    resources: {gpu: H100:8}\n"
        "    commands: ['join ${{ groups[0].nodes[0].IP_ADDRESS }}']\n",
    )
    assert [g.name for g in conf.groups] == ["head", None]
    assert conf.groups[1].nodes == 3
    assert conf.groups[1].resources.normalized()["gpu"]["count"] == {"min": 8, "max": 8}
    assert conf.groups[1].commands == ["join ${{ groups[0].nodes[0].IP_ADDRESS }}"]
    assert not_run_yet(conf) == ["groups"]


def test_service_replicas_as_a_list_become_replica_groups(tmp_path):
    conf = load(
        tmp_path,
        "type: service\nport: 8000\nreplicas:\n  - count: 1\n    commands: [router]\n"
        "  - name: workers\n    count: 1..4\n    scaling: {metric: rps, target: 10}\n"
        "    commands: [worker]\n",
    )
    assert [(g.name, g.replicas.min, g.replicas.max) for g in conf.replica_groups] == [
        (None, 1, 1),
        ("workers", 1, 4),
    ]
    assert not_run_yet(conf) == ["replicas"]


def test_model_name_and_tgi_mapping(tmp_path):
    named = load(tmp_path, "type: service\nport: 80\ncommands: [x]\nmodel: org/m\n")
    assert (named.model.name, named.model.format) == ("org/m", "openai")
    tgi = load(
        tmp_path,
        "type: service\nport: 80\ncommands: [x]\nmodel:\n  name: org/m\n  format: tgi\n"
        "  chat_template: '{{ x }}'\n  eos_token: '</s>'\n",
    )
    assert (tgi.model.chat_template, tgi.model.eos_token) == ("{{ x }}", "</s>")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (".", {"local_path": ".", "url": None, "path": "."}),
        ("../lib:/workflow/lib", {"local_path": "../lib", "url": None, "path": "/workflow/lib"}),
        ("https://github.com/org/repo", {"url": "https://github.com/org/repo", "path": "."}),
        (
            "git@github.com:org/repo.git:/src",
            {"url": "git@github.com:org/repo.git", "path": "/src"},
        ),
    ],
)
def test_repo_short_forms(tmp_path, written, expected):
    conf = load(tmp_path, f"type: task\ncommands: [ls]\nrepos: ['{written}']\n")
    repo = conf.repos[0].model_dump()
    assert {k: repo[k] for k in expected} == expected
    assert repo["if_exists"] == "error"


def test_volume_mounts_network_names_and_instance_paths(tmp_path):
    conf = load(
        tmp_path,
        "type: task\ncommands: [ls]\nvolumes:\n  - my-vol:/data\n  - /mnt/cache:/cache\n"
        "  - name: ['a-${{ dstack.node_rank }}', b]\n    path: /ckpt\n"
        "  - instance_path: /opt\n    path: /opt\n    optional: true\n",
    )
    assert [(v.name, v.instance_path, v.path) for v in conf.volumes] == [
        (["my-vol"], None, "/data"),
        (None, "/mnt/cache", "/cache"),
        (["a-${{ dstack.node_rank }}", "b"], None, "/ckpt"),
        (None, "/opt", "/opt"),
    ]


def test_fleets_and_instances_references(tmp_path):
    conf = load(
        tmp_path,
        "type: task\ncommands: [ls]\nfleets: [mine, team/shared]\n"
        "instances: [node-1, {hostname: 10.0.0.2}, {fleet: mine, instance: 0}]\n",
    )
    assert [(f.project, f.name) for f in conf.fleets] == [(None, "mine"), ("team", "shared")]
    assert [(i.name, i.hostname, i.instance) for i in conf.instances] == [
        ("node-1", None, None),
        (None, "10.0.0.2", None),
        (None, None, 0),
    ]
    # this project's fleets and `instances` are used (placement); another project's are not
    assert not_run_yet(conf) == ["fleets"]
    mine = load(tmp_path, "type: task\ncommands: [ls]\nfleets: [mine]\n")
    assert not_run_yet(mine) == []


def test_schedule_one_cron_becomes_a_list_and_policies_are_kept(tmp_path):
    conf = load(
        tmp_path,
        "type: task\ncommands: [ls]\nschedule: {cron: '*/15 8-18 * * mon-fri'}\n"
        "utilization_policy: {min_gpu_utilization: 10, time_window: 1h}\n"
        "retry: {on_events: [error], duration: 2h}\nshell: /bin/zsh\nuser: 1000:1000\n",
    )
    assert conf.schedule.cron == ["*/15 8-18 * * mon-fri"]
    assert conf.utilization_policy.time_window == 3600
    assert (conf.retry.on_events, conf.retry.duration) == (["error"], 7200)
    assert (conf.shell, conf.user) == ("/bin/zsh", "1000:1000")


def test_a_fleet_without_nodes_validates_and_apply_would_refuse_it(tmp_path):
    conf = load(tmp_path, "type: fleet\nname: elastic\nresources: {gpu: 24GB}\n")
    assert conf.nodes is None and conf.node_count == 0
    assert not_run_yet(conf) == ["nodes (omitted)"]


def test_gateways_and_volumes_validate_but_are_not_created(tmp_path):
    path = tmp_path / "gw.dstack.yml"
    path.write_text("type: gateway\nname: gw\nbackend: aws\nregion: eu-west-1\ndomain: x.io\n")
    report = validate_file(str(path))
    assert (report.ok, report.type, report.name, report.not_run_yet) == (
        True,
        "gateway",
        "gw",
        ["type"],
    )
    with pytest.raises(NotCreatedYet) as info:
        load_configuration(path, profiles=False)
    assert "does not create gateways yet" in str(info.value)
    assert str(info.value).startswith(f"{path}:1: type: ")


def test_every_registered_backend_may_be_named_and_unknown_ones_are_listed(tmp_path):
    assert set(registry.backend_names()) <= set(known_backends())
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path, "type: task\ncommands: [ls]\nbackends: [aws, awz]\n")
    assert info.value.path == "backends" and "use one of" in str(info.value)
    assert "lambdalabs" in str(info.value) and "vastai" in str(info.value)
