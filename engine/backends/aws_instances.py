"""EC2 instances carrying fleetstack's tags, through boto3 (imported here only): what
`dstack fleet --orphans` compares with the stacks. Credentials are boto3's own chain, or the
config.yml entry's profile; AWS_ENDPOINT_URL_EC2 (boto3's own variable) points it elsewhere."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Protocol, TypeVar

from ..errors import FleetstackError
from .base import TaggedInstance

if TYPE_CHECKING:
    from .config import BackendConfig

OWNER_TAG = ("owner", "fleetstack")
LIVE_STATES = ["pending", "running", "stopping", "stopped"]
DEFAULT_REGION = "us-east-1"  # where the list of regions itself is asked

Page = Mapping[str, Sequence[Mapping[str, object]]]
T = TypeVar("T")


class _Paginator(Protocol):
    def paginate(self, *, Filters: list[dict[str, object]]) -> Iterable[Page]: ...


class _EC2(Protocol):
    def get_paginator(self, name: str) -> _Paginator: ...
    def describe_regions(self) -> Page: ...
    def terminate_instances(self, *, InstanceIds: list[str]) -> object: ...


class _Session(Protocol):
    def client(self, service: str, *, region_name: str) -> _EC2: ...


def tagged_instances(entry: BackendConfig | None, project: str) -> list[TaggedInstance]:
    """Live instances tagged owner=fleetstack and project=`project` in the entry's regions
    (every region the account has enabled when it names none)."""
    session = _session(entry)
    filters: list[dict[str, object]] = [
        {"Name": f"tag:{OWNER_TAG[0]}", "Values": [OWNER_TAG[1]]},
        {"Name": "tag:project", "Values": [project]},
        {"Name": "instance-state-name", "Values": LIVE_STATES},
    ]
    found: list[TaggedInstance] = []
    for region in _regions(session, entry):
        paginator = session.client("ec2", region_name=region).get_paginator("describe_instances")
        pages = _call(partial(_pages, paginator, filters))
        found.extend(_instances(pages, region))
    return found


def terminate(entry: BackendConfig | None, instances: list[TaggedInstance]) -> None:
    """Terminate `instances`, region by region."""
    session = _session(entry)
    by_region: dict[str, list[str]] = {}
    for instance in instances:
        by_region.setdefault(instance.region, []).append(instance.instance_id)
    for region, ids in by_region.items():
        client = session.client("ec2", region_name=region)
        _call(partial(client.terminate_instances, InstanceIds=ids))


def _pages(paginator: _Paginator, filters: list[dict[str, object]]) -> list[Page]:
    return list(paginator.paginate(Filters=filters))


def _instances(pages: list[Page], region: str) -> list[TaggedInstance]:
    found = []
    for page in pages:
        for reservation in page.get("Reservations", []):
            for item in _mappings(reservation.get("Instances")):
                tags = {str(t.get("Key")): str(t.get("Value")) for t in _mappings(item.get("Tags"))}
                state = item.get("State")
                found.append(
                    TaggedInstance(
                        instance_id=str(item["InstanceId"]),
                        region=region,
                        state=str(state.get("Name", "")) if isinstance(state, Mapping) else "",
                        project=tags.get("project", ""),
                        fleet=tags.get("fleet", ""),
                        instance_type=str(item.get("InstanceType", "")),
                    )
                )
    return found


def _mappings(value: object) -> list[Mapping[str, object]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _session(entry: BackendConfig | None) -> _Session:
    import boto3

    creds = entry.creds if entry is not None else {}
    profile = creds.get("profile") if creds.get("type") == "profile" else None
    session: _Session = boto3.Session(profile_name=str(profile) if profile else None)
    return session


def _regions(session: _Session, entry: BackendConfig | None) -> list[str]:
    if entry is not None and entry.regions:
        return list(entry.regions)
    answer = _call(session.client("ec2", region_name=DEFAULT_REGION).describe_regions)
    return sorted(str(r["RegionName"]) for r in answer.get("Regions", []))


def _call(action: Callable[[], T]) -> T:
    """`action()`, with boto3's expected failures (credentials, access, endpoint) as one line."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return action()
    except ClientError as exc:
        raise FleetstackError(f"EC2: {exc.response['Error'].get('Message', exc)}") from None
    except BotoCoreError as exc:
        raise FleetstackError(f"EC2: {exc}") from None
