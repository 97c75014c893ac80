"""The AWS program: a security group, a key pair and one EC2 instance per node.

Resources land in the region's default VPC (the `aws:region` stack config). GPU nodes
boot the AWS Deep Learning Base OSS NVIDIA driver AMI (Ubuntu 22.04), CPU nodes
Canonical's Ubuntu 22.04; Graviton (arm64) instance types get the arm64 flavour of each.
"""

from __future__ import annotations

import base64
import gzip
import re
from typing import TYPE_CHECKING

from . import common
from .errors import StackError
from .spec import StackSpec

if TYPE_CHECKING:  # the SDK itself is imported inside the program: it is heavy
    import pulumi_aws as aws

# (label, dotted input path) a reviewer sees in the offline plan (stacks/inputs.py)
REVIEW_INPUTS = (
    ("size", "instanceType"),
    ("zone", "availabilityZone"),
    ("image", "ami"),
    ("disk", "rootBlockDevice.volumeSize"),
    ("market", "instanceMarketOptions.marketType"),
    ("max_price", "instanceMarketOptions.spotOptions.maxPrice"),
    ("placement", "placementGroup"),
    ("placement", "strategy"),
    ("shutdown", "instanceInitiatedShutdownBehavior"),
)
USER_DATA_LIMIT = 16 * 1024  # EC2's limit on raw user data
CANONICAL_OWNER = "099720109477"
# (owner, AMI name pattern) by (NVIDIA driver wanted, cpu arch); "*" is the build date.
AMI_PATTERNS = {
    (True, "x86_64"): ("amazon", "Deep Learning Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *"),
    (True, "arm64"): (
        "amazon",
        "Deep Learning ARM64 Base OSS Nvidia Driver GPU AMI (Ubuntu 22.04) *",
    ),
    # hvm-ssd* also matches Canonical's newer hvm-ssd-gp3 prefix
    (False, "x86_64"): (
        CANONICAL_OWNER,
        "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*",
    ),
    (False, "arm64"): (CANONICAL_OWNER, "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-arm64-server-*"),
}


def program(spec: StackSpec) -> None:
    """Declare the fleet's AWS resources and export instance_ids/public_ips/private_ips/ssh_user."""
    import pulumi
    import pulumi_aws as aws

    common.check_spec(spec)
    prefix = spec.resource_prefix
    tags = spec.all_tags

    sg = aws.ec2.SecurityGroup(
        f"{prefix}-sg",
        # EC2 accepts few characters in a description: the stack name is always safe
        description=f"fleetstack {spec.stack_name}: SSH and service ports",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=port, to_port=port, cidr_blocks=[spec.allowed_cidr]
            )
            for port in common.inbound_ports(spec)
        ]
        + [
            # nodes of one fleet talk to each other freely (NCCL, torch.distributed, MPI)
            aws.ec2.SecurityGroupIngressArgs(protocol="-1", from_port=0, to_port=0, self=True)
        ],
        egress=[
            aws.ec2.SecurityGroupEgressArgs(
                protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"]
            )
        ],
        tags={**tags, "Name": f"{prefix}-sg"},
    )
    key = aws.ec2.KeyPair(
        f"{prefix}-key",
        key_name_prefix=f"{prefix}-",
        public_key=spec.ssh_public_key,
        tags={**tags, "Name": f"{prefix}-key"},
    )
    placement_group = None
    if spec.placement_cluster:
        placement_group = aws.ec2.PlacementGroup(
            f"{prefix}-pg", strategy="cluster", tags={**tags, "Name": f"{prefix}-pg"}
        )

    owner, pattern = AMI_PATTERNS[
        (common.wants_nvidia_image(spec), instance_arch(spec.instance_type))
    ]
    ami = aws.ec2.get_ami_output(
        most_recent=True,
        owners=[owner],
        filters=[
            aws.ec2.GetAmiFilterArgs(name="name", values=[pattern]),
            aws.ec2.GetAmiFilterArgs(name="state", values=["available"]),
        ],
    )

    boot = user_data_args(spec)
    instances = []
    for name in common.node_names(spec):
        instances.append(
            aws.ec2.Instance(
                name,
                ami=ami.id,
                instance_type=spec.instance_type,
                key_name=key.key_name,
                vpc_security_group_ids=[sg.id],
                associate_public_ip_address=True,
                availability_zone=spec.zone,
                placement_group=placement_group.name if placement_group else None,
                instance_market_options=_market_options(spec),
                root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                    volume_size=spec.disk_gb, volume_type="gp3", delete_on_termination=True
                ),
                user_data=boot.get("user_data"),
                user_data_base64=boot.get("user_data_base64"),
                # a new boot script means a new machine: a stop/start cannot re-run cloud-init
                user_data_replace_on_change=True,
                # a power-off from inside (the backstop, templates/backstop.py) ends the billing
                instance_initiated_shutdown_behavior="terminate",
                metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                    http_tokens="required", http_endpoint="enabled"
                ),
                tags={**tags, "Name": name},
                volume_tags={**tags, "Name": name},
            )
        )

    pulumi.export("instance_ids", [i.id for i in instances])
    pulumi.export("public_ips", [i.public_ip for i in instances])
    pulumi.export("private_ips", [i.private_ip for i in instances])
    pulumi.export("ssh_user", common.SSH_USER)


def stack_settings(spec: StackSpec) -> dict[str, str]:
    """The provider's stack config for `spec`: its region."""
    return {"aws:region": spec.region}


def user_data_args(spec: StackSpec) -> dict[str, str]:
    """`user_data` as is when it fits EC2's 16 KB, else gzipped as `user_data_base64`
    (cloud-init unpacks gzip); a StackError when even that is too big."""
    raw = spec.user_data.encode()
    if len(raw) <= USER_DATA_LIMIT:
        return {"user_data": spec.user_data}
    packed = gzip.compress(raw, mtime=0)  # mtime=0: the same script gives the same bytes
    if len(packed) > USER_DATA_LIMIT:
        raise StackError(
            f"fleet {spec.fleet!r}: the boot script is {len(raw) // 1024} KB "
            f"({len(packed) // 1024} KB gzipped); EC2 accepts 16 KB of user data: "
            "shorten the commands or env, or move large files into the image"
        )
    return {"user_data_base64": base64.b64encode(packed).decode()}


def instance_arch(instance_type: str) -> str:
    """`arm64` for Graviton types (a1, m7g, c6gn, g5g, ...), else `x86_64`."""
    family = instance_type.split(".", 1)[0].lower()
    if family == "a1":
        return "arm64"
    # family = letters, generation digits, attribute letters; "g" among the attributes is Graviton
    match = re.fullmatch(r"([a-z]+)(\d+)([a-z-]*)", family)
    if match and "g" in match.group(3):
        return "arm64"
    return "x86_64"


def _market_options(spec: StackSpec) -> aws.ec2.InstanceInstanceMarketOptionsArgs | None:
    if not spec.spot:
        return None
    import pulumi_aws as aws

    return aws.ec2.InstanceInstanceMarketOptionsArgs(
        market_type="spot",
        spot_options=aws.ec2.InstanceInstanceMarketOptionsSpotOptionsArgs(
            # no max_price: AWS caps a spot price at the on-demand price
            max_price=common.format_price(spec.max_price) if spec.max_price is not None else None,
            instance_interruption_behavior="terminate",
            spot_instance_type="one-time",
        ),
    )
