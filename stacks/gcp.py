"""The GCP program: firewall rules and one Compute Engine instance per node.

Instances use the project's `default` network and get an ephemeral public IP. Choices:

- zone: `spec.zone`, else the region's first zone, `<region>-a` (`-b` where a region has
  no `a`: us-east1, europe-west1). GPU capacity differs per zone: give the offer's zone.
- image: GPU nodes boot a Deep Learning VM image family with the NVIDIA driver installed
  (DLVM_GPU_IMAGE); CPU nodes Ubuntu 22.04 LTS (arm64 on Arm machine series).
- GPUs: accelerator-optimized machine types (a2, a3, a4, g2, g4, ...) come with their GPUs
  attached and must not list `guest_accelerators`; every other type (N1) gets
  `guest_accelerators` from gpu_name/gpu_count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import common
from .errors import StackError
from .spec import StackSpec

if TYPE_CHECKING:  # the SDK itself is imported inside the program: it is heavy
    import pulumi_gcp as gcp
    from pulumi_gcp.compute.outputs import InstanceNetworkInterface

# The DLVM family current in 2026 (CUDA 12.9, driver 580); families are retired over time.
DLVM_GPU_IMAGE = (
    "projects/deeplearning-platform-release/global/images/family/"
    "common-cu129-ubuntu-2204-nvidia-580"
)
# (label, dotted input path) a reviewer sees in the offline plan (stacks/inputs.py)
REVIEW_INPUTS = (
    ("size", "machineType"),
    ("zone", "zone"),
    ("image", "bootDisk.initializeParams.image"),
    ("disk", "bootDisk.initializeParams.size"),
    ("market", "scheduling.provisioningModel"),
    ("placement", "groupPlacementPolicy.collocation"),
)
GCP_METADATA_VALUE_LIMIT = 256 * 1024  # bytes in one metadata value (user-data)
UBUNTU_IMAGE = "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts"
UBUNTU_ARM_IMAGE = "projects/ubuntu-os-cloud/global/images/family/ubuntu-2204-lts-arm64"

# Machine series whose machine type fixes the GPUs (attached automatically).
ACCELERATOR_OPTIMIZED_SERIES = {"a2", "a3", "a4", "a4x", "g2", "g4"}
ARM_SERIES = {"t2a", "c4a", "n4a", "a4x"}
# Series whose boot disks must be Hyperdisk (no Persistent Disk support).
HYPERDISK_SERIES = {"a4", "a4x", "c4", "c4a", "c4d", "n4", "n4a", "n4d", "x4", "m4", "h4d"}
# gpu_name (as in the offer catalog) -> Compute Engine accelerator type, for N1 machine types
ACCELERATOR_TYPES = {
    "T4": "nvidia-tesla-t4",
    "V100": "nvidia-tesla-v100",
    "P100": "nvidia-tesla-p100",
    "P4": "nvidia-tesla-p4",
    "A100": "nvidia-tesla-a100",
    "L4": "nvidia-l4",
    "H100": "nvidia-h100-80gb",
}
REGIONS_WITHOUT_ZONE_A = {"us-east1", "europe-west1"}
LABEL_MAX = 63


def program(spec: StackSpec) -> None:
    """Declare the fleet's GCP resources and export instance_ids/public_ips/private_ips/ssh_user."""
    import pulumi
    import pulumi_gcp as gcp

    common.check_spec(spec)
    common.check_user_data_size(spec, limit=GCP_METADATA_VALUE_LIMIT, where="a GCP metadata value")
    prefix = spec.resource_prefix
    labels = gcp_labels(spec.all_tags)
    zone = default_zone(spec)
    network_tag = prefix  # firewall rules target instances carrying this network tag

    gcp.compute.Firewall(
        f"{prefix}-fw",
        network="default",
        description=f"fleetstack {spec.stack_name}: SSH and service ports",
        direction="INGRESS",
        allows=[
            gcp.compute.FirewallAllowArgs(
                protocol="tcp", ports=[str(p) for p in common.inbound_ports(spec)]
            )
        ],
        source_ranges=[spec.allowed_cidr],
        target_tags=[network_tag],
    )
    if spec.nodes > 1:
        # nodes of one fleet talk to each other freely (NCCL, torch.distributed, MPI)
        gcp.compute.Firewall(
            f"{prefix}-internal",
            network="default",
            description=f"fleetstack {spec.stack_name}: traffic between its nodes",
            direction="INGRESS",
            allows=[gcp.compute.FirewallAllowArgs(protocol="all")],
            source_tags=[network_tag],
            target_tags=[network_tag],
        )
    policy = None
    if spec.placement_cluster:
        policy = gcp.compute.ResourcePolicy(
            f"{prefix}-placement",
            region=spec.region,
            description=f"fleetstack {spec.stack_name}: nodes close together",
            group_placement_policy=gcp.compute.ResourcePolicyGroupPlacementPolicyArgs(
                collocation="COLLOCATED", vm_count=spec.nodes
            ),
        )

    instances = []
    for name in common.node_names(spec):
        instances.append(
            gcp.compute.Instance(
                name,
                machine_type=spec.instance_type,
                zone=zone,
                boot_disk=gcp.compute.InstanceBootDiskArgs(
                    auto_delete=True,
                    initialize_params=gcp.compute.InstanceBootDiskInitializeParamsArgs(
                        image=boot_image(spec),
                        size=spec.disk_gb,
                        type=boot_disk_type(spec.instance_type),
                        labels=labels,
                    ),
                ),
                guest_accelerators=_guest_accelerators(spec),
                scheduling=_scheduling(spec),
                metadata={
                    "user-data": spec.user_data,
                    "ssh-keys": f"{common.SSH_USER}:{spec.ssh_public_key.strip()}",
                },
                network_interfaces=[
                    gcp.compute.InstanceNetworkInterfaceArgs(
                        network="default",
                        access_configs=[gcp.compute.InstanceNetworkInterfaceAccessConfigArgs()],
                    )
                ],
                tags=[network_tag],
                labels=labels,
                resource_policies=policy.self_link if policy else None,
                allow_stopping_for_update=True,
            )
        )

    pulumi.export("instance_ids", [i.id for i in instances])
    pulumi.export("public_ips", [i.network_interfaces.apply(_public_ip) for i in instances])
    pulumi.export("private_ips", [i.network_interfaces.apply(_private_ip) for i in instances])
    pulumi.export("ssh_user", common.SSH_USER)


def stack_settings(spec: StackSpec) -> dict[str, str]:
    """The provider's stack config for `spec`: its region, and its zone when one is set."""
    settings = {"gcp:region": spec.region}
    if spec.zone:
        settings["gcp:zone"] = spec.zone
    return settings


def machine_series(machine_type: str) -> str:
    """The series of a machine type: `n1` for n1-standard-8, `a2` for a2-ultragpu-1g."""
    return machine_type.split("-", 1)[0].lower()


def default_zone(spec: StackSpec) -> str:
    """`spec.zone`, else the region's first zone (`-a`, or `-b` where the region has no `a`)."""
    if spec.zone:
        return spec.zone
    letter = "b" if spec.region in REGIONS_WITHOUT_ZONE_A else "a"
    return f"{spec.region}-{letter}"


def boot_image(spec: StackSpec) -> str:
    """The boot image (family) for the spec's nodes."""
    arm = machine_series(spec.instance_type) in ARM_SERIES
    if common.wants_nvidia_image(spec):
        if arm:
            raise StackError(
                f"fleet {spec.fleet!r}: GCP Arm GPU machine type {spec.instance_type!r} is not "
                "supported yet; choose an x86 GPU machine type (a2, a3, g2 or n1 with GPUs)"
            )
        return DLVM_GPU_IMAGE
    return UBUNTU_ARM_IMAGE if arm else UBUNTU_IMAGE


def boot_disk_type(machine_type: str) -> str:
    """`hyperdisk-balanced` for series without Persistent Disk support, else `pd-balanced`."""
    return (
        "hyperdisk-balanced" if machine_series(machine_type) in HYPERDISK_SERIES else "pd-balanced"
    )


def accelerator_type(spec: StackSpec) -> str | None:
    """The accelerator type to attach, or None when the machine type brings its own GPUs."""
    if spec.gpu_count <= 0 or machine_series(spec.instance_type) in ACCELERATOR_OPTIMIZED_SERIES:
        return None
    name = (spec.gpu_name or "").strip()
    if name.lower().startswith("nvidia-"):
        return name.lower()  # already a Compute Engine accelerator type
    found = ACCELERATOR_TYPES.get(name.upper())
    if found is None:
        known = ", ".join(sorted(ACCELERATOR_TYPES))
        raise StackError(
            f"fleet {spec.fleet!r}: GPU {spec.gpu_name!r} cannot be attached to GCP machine "
            f"type {spec.instance_type!r}; known GPUs: {known} (or a nvidia-* accelerator type)"
        )
    return found


def gcp_labels(tags: dict[str, str]) -> dict[str, str]:
    """Tags as GCP labels: lowercase ASCII, only [a-z0-9_-], at most 63 characters, keys start
    with a letter (`x-` is put in front of a key that does not), empty keys dropped."""
    labels: dict[str, str] = {}
    for key, value in tags.items():
        label_key = _label_text(key)
        if not label_key:
            continue
        if not label_key[0].isalpha():
            label_key = f"x-{label_key}"
        labels[label_key[:LABEL_MAX]] = _label_text(value)[:LABEL_MAX]
    return labels


def _label_text(text: str) -> str:
    # accents are dropped rather than the letters that carry them (Ü -> u)
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9_-]+", "-", ascii_text.lower()).strip("-")


def _guest_accelerators(spec: StackSpec) -> list | None:
    import pulumi_gcp as gcp

    accelerator = accelerator_type(spec)
    if accelerator is None:
        return None
    return [gcp.compute.InstanceGuestAcceleratorArgs(type=accelerator, count=spec.gpu_count)]


def _scheduling(spec: StackSpec) -> gcp.compute.InstanceSchedulingArgs:
    import pulumi_gcp as gcp

    # A power-off from inside (the backstop, templates/backstop.py) leaves a GCP instance
    # TERMINATED (GCP's word for stopped): its vCPUs and GPUs are no longer billed, its disk
    # is until the stack is destroyed. GCP has no "delete on guest shutdown".
    # GPU instances cannot live-migrate: they must stop for host maintenance
    on_host_maintenance = "TERMINATE" if spec.gpu_count > 0 or spec.spot else "MIGRATE"
    if not spec.spot:
        return gcp.compute.InstanceSchedulingArgs(on_host_maintenance=on_host_maintenance)
    return gcp.compute.InstanceSchedulingArgs(
        provisioning_model="SPOT",
        preemptible=True,
        automatic_restart=False,
        on_host_maintenance="TERMINATE",
        instance_termination_action="DELETE",
    )


def _public_ip(interfaces: Sequence[InstanceNetworkInterface] | None) -> str | None:
    for nic in interfaces or []:
        for config in nic.access_configs or []:
            if config.nat_ip:
                return config.nat_ip
    return None


def _private_ip(interfaces: Sequence[InstanceNetworkInterface] | None) -> str | None:
    for nic in interfaces or []:
        if nic.network_ip:
            return nic.network_ip
    return None
