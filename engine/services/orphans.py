"""`dstack fleet --orphans [--delete]` as use cases: find what no fleet accounts for, delete it.

The stacks come from each stack cloud's engine (config.yml's `stack_engine:`, the Pulumi CLI
by default: without it stacks cannot be listed, and nothing is called an orphan); tagged
instances from the backends that can list them (`lists_tagged_instances`: EC2 through boto3).
"""

from __future__ import annotations

from dataclasses import dataclass

from ...stacks.engine import StackEngine
from ..backends.base import Capability
from ..backends.config import BackendsConfig, load_backends_config
from ..backends.registry import get_backend, names_with
from ..errors import FleetstackError
from ..fleets.orphans import (
    Orphan,
    list_stack_refs,
    orphan_instances,
    orphan_stacks,
    owned_instance_ids,
)
from ..fleets.stacks import DEFAULT_PROJECT, stack_engine_for
from ..state import list_fleets, open_state


@dataclass(frozen=True)
class OrphanReport:
    orphans: list[Orphan]
    clouds: list[str]  # the clouds looked at


def find(project: str = DEFAULT_PROJECT) -> OrphanReport:
    """Orphan stacks and instances of `project` on every configured stack cloud."""
    config = load_backends_config()
    engines = _engines(config)
    refs = list_stack_refs(engines)
    fleets = list_fleets(open_state(), include_finished=True, project=project)
    orphans = orphan_stacks(refs, fleets, project)
    owned = owned_instance_ids(refs, engines)
    for cloud in engines:
        backend = get_backend(cloud)
        if not backend.lists_tagged_instances:
            continue
        tagged = backend.tagged_instances(config.get(cloud), project)
        orphans += orphan_instances(tagged, owned, fleets, project, cloud)
    return OrphanReport(orphans, sorted(engines))


def delete(orphans: list[Orphan]) -> list[str]:
    """Destroy orphan stacks and terminate orphan instances; what was removed."""
    config = load_backends_config()
    removed = []
    for orphan in orphans:
        if orphan.stack is not None:
            ref = orphan.stack
            stack_engine_for(ref.cloud, config).destroy(ref.project, ref.fleet, ref.cloud)
            removed.append(f"stack {ref.name}")
    by_cloud: dict[str, list[Orphan]] = {}
    for orphan in orphans:
        if orphan.instance is not None:
            by_cloud.setdefault(orphan.cloud, []).append(orphan)
    for cloud, items in by_cloud.items():
        instances = [o.instance for o in items if o.instance is not None]
        get_backend(cloud).terminate_tagged(config.get(cloud), instances)
        removed += [f"instance {i.instance_id} ({i.region})" for i in instances]
    return removed


def _engines(config: BackendsConfig) -> dict[str, StackEngine]:
    """The engine of each configured stack cloud, ready (an engine that cannot run here stops
    the listing: its stacks cannot be told apart from orphans without it)."""
    clouds = [c for c in names_with(Capability.STACK) if config.get(c) is not None]
    if not clouds:
        clouds_text = ", ".join(names_with(Capability.STACK))
        raise FleetstackError(
            f"no stack cloud is configured in config.yml ({clouds_text}): there is nothing "
            "fleetstack could have left behind"
        )
    engines = {}
    for cloud in clouds:
        engine = stack_engine_for(cloud, config)
        engine.ensure_ready()
        engines[cloud] = engine
    return engines
