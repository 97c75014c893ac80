"""Fields fleetstack reads (dstack's format) but does not run yet.

They validate and show in the plan; `dstack apply` refuses them in one line naming the field
before anything is created, instead of running without them.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from .fleet import FleetConfiguration
from .loader import AnyConfiguration
from .run import PYTHON_VERSIONS, BaseRunConfiguration, TaskConfiguration
from .service import ServiceConfiguration

# fields of runs (YAML names) -> what fleetstack would have to do, as the refusal says it
_RUN_FIELDS = {
    "fleets": "use another project's fleets",  # this project's fleets are used (placement)
    "schedule": "start runs on a cron schedule",
    "utilization_policy": "stop runs on low GPU utilization",
    "volumes": "mount volumes",
    "docker": "run Docker inside the container",
    "backend_options": "apply backend-specific offer options",
}
_OTHER = {
    "groups": "run node or replica groups",
    "replicas": "run replica groups",
    "repos": "mount repos other than the configuration's own",
    "nodes": "create a fleet without nodes",
    "python": "provide an image for that Python",
}


def not_run_yet(configuration: AnyConfiguration) -> list[str]:
    """The fields `configuration` sets that fleetstack does not run yet, in YAML terms."""
    found: list[str] = []
    if isinstance(configuration, BaseRunConfiguration):
        found += [name for name in _RUN_FIELDS if name != "fleets" and getattr(configuration, name)]
        if any(ref.project for ref in configuration.fleets or []):
            found.insert(0, "fleets")
        if configuration.python is not None and configuration.python not in PYTHON_VERSIONS:
            found.append(f"python {configuration.python}")
        if any(r.url or r.local_path not in (".", "./") for r in configuration.repos):
            found.append("repos")  # the project around the file is what a job gets today
    if isinstance(configuration, TaskConfiguration | ServiceConfiguration):
        found += _groups(configuration)
    if isinstance(configuration, FleetConfiguration):
        found += _nodes(configuration)
    return found


def _groups(configuration: TaskConfiguration | ServiceConfiguration) -> list[str]:
    if isinstance(configuration, ServiceConfiguration):
        return [configuration.groups_field] if configuration.replica_groups else []
    return [] if configuration.groups is None else ["groups"]


def _nodes(configuration: FleetConfiguration) -> list[str]:
    return (
        ["nodes (omitted)"] if configuration.nodes is None and not configuration.ssh_config else []
    )


def refuse_not_run_yet(configuration: AnyConfiguration, file: str) -> None:
    """A ConfigurationError naming the first field fleetstack does not run yet, if any."""
    fields = not_run_yet(configuration)
    if fields:
        field = fields[0].split(" ")[0]
        what = _RUN_FIELDS.get(field) or _OTHER.get(field, "run it")
        raise ConfigurationError(
            f"valid, but fleetstack cannot {what} yet: remove {field} to apply "
            "(validate and --dry-run show it)",
            file=file,
            path=field,
        )
