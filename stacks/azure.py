"""The Azure program: a resource group with its own network, and one VM per node.

Every fleet gets a resource group (so destroying the stack leaves nothing behind), a
virtual network and subnet, a network security group, and per node a static Standard
public IP, a NIC and a VM. Nodes of one fleet reach each other through the NSG's default
AllowVnetInBound rule. Choices:

- image: GPU nodes boot Microsoft's Ubuntu 22.04 HPC image (NVIDIA driver, CUDA and
  InfiniBand drivers installed; Gen2); CPU nodes Canonical's Ubuntu 22.04 LTS Gen2.
- cloud-init reads Azure *custom data*, so the user-data goes there; it is also set as the
  VM's user data (base64), which stays readable from the instance metadata service.
- OS disk: Premium SSD where the VM size supports premium storage, else Standard SSD.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import common
from .spec import StackSpec

if TYPE_CHECKING:  # the SDK itself is imported inside the program: it is heavy
    from pulumi_azure_native.network.outputs import NetworkInterfaceIPConfigurationResponse

# (label, dotted input path) a reviewer sees in the offline plan (stacks/inputs.py)
REVIEW_INPUTS = (
    ("size", "hardwareProfile.vmSize"),
    ("location", "location"),
    ("image", "storageProfile.imageReference.offer"),
    ("disk", "storageProfile.osDisk.diskSizeGB"),
    ("market", "priority"),
    ("max_price", "billingProfile.maxPrice"),
    ("cidr", "addressSpace.addressPrefixes"),
    ("cidr", "addressPrefix"),
)
# (publisher, offer, sku) of the boot image; version is always "latest"
GPU_IMAGE = ("microsoft-dsvm", "ubuntu-hpc", "2204")
CPU_IMAGE = ("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2")
VNET_CIDR = "10.0.0.0/16"
AZURE_CUSTOM_DATA_LIMIT = 64 * 1024 - 1  # bytes of custom data before base64
SUBNET_CIDR = "10.0.0.0/20"
INBOUND_PRIORITY = 1000


def program(spec: StackSpec) -> None:
    """Declare the fleet's Azure resources; export instance_ids, public/private_ips, ssh_user."""
    import pulumi
    from pulumi_azure_native import compute, network, resources

    common.check_spec(spec)
    prefix = spec.resource_prefix
    tags = spec.all_tags
    location = spec.region
    zones = [spec.zone] if spec.zone else None

    group = resources.ResourceGroup(f"{prefix}-rg", location=location, tags=tags)
    vnet = network.VirtualNetwork(
        f"{prefix}-vnet",
        resource_group_name=group.name,
        location=location,
        address_space=network.AddressSpaceArgs(address_prefixes=[VNET_CIDR]),
        tags=tags,
    )
    subnet = network.Subnet(
        f"{prefix}-subnet",
        resource_group_name=group.name,
        virtual_network_name=vnet.name,
        address_prefix=SUBNET_CIDR,
    )
    nsg = network.NetworkSecurityGroup(
        f"{prefix}-nsg",
        resource_group_name=group.name,
        location=location,
        security_rules=[
            network.SecurityRuleArgs(
                name="fleetstack-inbound",
                description=f"fleetstack {spec.stack_name}: SSH and service ports",
                priority=INBOUND_PRIORITY,
                direction="Inbound",
                access="Allow",
                protocol="Tcp",
                source_address_prefix=spec.allowed_cidr,
                source_port_range="*",
                destination_address_prefix="*",
                destination_port_ranges=[str(p) for p in common.inbound_ports(spec)],
            )
        ],
        tags=tags,
    )
    placement_group = None
    if spec.placement_cluster:
        placement_group = compute.ProximityPlacementGroup(
            f"{prefix}-ppg",
            resource_group_name=group.name,
            location=location,
            proximity_placement_group_type="Standard",
            tags=tags,
        )

    publisher, offer, sku = GPU_IMAGE if common.wants_nvidia_image(spec) else CPU_IMAGE
    common.check_user_data_size(spec, limit=AZURE_CUSTOM_DATA_LIMIT, where="Azure custom data")
    encoded_user_data = base64.b64encode(spec.user_data.encode()).decode()
    vms, public_ips, nics = [], [], []
    for name in common.node_names(spec):
        public_ip = network.PublicIPAddress(
            f"{name}-ip",
            resource_group_name=group.name,
            location=location,
            sku=network.PublicIPAddressSkuArgs(name="Standard"),
            public_ip_allocation_method="Static",
            zones=zones,
            tags=tags,
        )
        nic = network.NetworkInterface(
            f"{name}-nic",
            resource_group_name=group.name,
            location=location,
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            ip_configurations=[
                network.NetworkInterfaceIPConfigurationArgs(
                    name="primary",
                    primary=True,
                    subnet=network.SubnetArgs(id=subnet.id),
                    public_ip_address=network.PublicIPAddressArgs(id=public_ip.id),
                    private_ip_allocation_method="Dynamic",
                )
            ],
            tags=tags,
        )
        # A power-off from inside (the backstop, templates/backstop.py) leaves an Azure VM
        # "stopped" but still allocated, and allocated VMs are billed: Azure has no
        # "deallocate on guest shutdown". There the reconciler's idle release and
        # `dstack fleet --orphans` are what end the billing (README: Security and costs).
        vm = compute.VirtualMachine(
            name,
            resource_group_name=group.name,
            location=location,
            zones=zones,
            hardware_profile=compute.HardwareProfileArgs(vm_size=spec.instance_type),
            os_profile=compute.OSProfileArgs(
                computer_name=name,
                admin_username=common.SSH_USER,
                custom_data=encoded_user_data,
                linux_configuration=compute.LinuxConfigurationArgs(
                    disable_password_authentication=True,
                    ssh=compute.SshConfigurationArgs(
                        public_keys=[
                            compute.SshPublicKeyArgs(
                                key_data=spec.ssh_public_key.strip(),
                                path=f"/home/{common.SSH_USER}/.ssh/authorized_keys",
                            )
                        ]
                    ),
                ),
            ),
            user_data=encoded_user_data,
            storage_profile=compute.StorageProfileArgs(
                image_reference=compute.ImageReferenceArgs(
                    publisher=publisher, offer=offer, sku=sku, version="latest"
                ),
                os_disk=compute.OSDiskArgs(
                    create_option="FromImage",
                    disk_size_gb=spec.disk_gb,
                    delete_option="Delete",
                    caching=compute.CachingTypes.READ_WRITE,
                    managed_disk=compute.ManagedDiskParametersArgs(
                        storage_account_type=os_disk_storage(spec.instance_type)
                    ),
                ),
            ),
            network_profile=compute.NetworkProfileArgs(
                network_interfaces=[
                    compute.NetworkInterfaceReferenceArgs(
                        id=nic.id, primary=True, delete_option="Delete"
                    )
                ]
            ),
            proximity_placement_group=(
                compute.SubResourceArgs(id=placement_group.id) if placement_group else None
            ),
            priority="Spot" if spec.spot else None,
            eviction_policy="Delete" if spec.spot else None,
            billing_profile=(
                # -1: pay up to the on-demand price, never evicted for price
                compute.BillingProfileArgs(max_price=spec.max_price or -1) if spec.spot else None
            ),
            tags=tags,
        )
        vms.append(vm)
        public_ips.append(public_ip)
        nics.append(nic)

    pulumi.export("instance_ids", [vm.id for vm in vms])
    pulumi.export("public_ips", [ip.ip_address for ip in public_ips])
    pulumi.export("private_ips", [nic.ip_configurations.apply(_private_ip) for nic in nics])
    pulumi.export("ssh_user", common.SSH_USER)


def stack_settings(spec: StackSpec) -> dict[str, str]:
    """The provider's stack config for `spec`: its location."""
    return {"azure-native:location": spec.region}


def os_disk_storage(vm_size: str) -> str:
    """`Premium_LRS` for sizes with premium storage (an `s` feature: D4s_v5, NC24ads_A100_v4,
    or a DS/GS/FS family), else `StandardSSD_LRS` (NC6, A2_v2)."""
    match = re.fullmatch(r"(?:Standard_|Basic_)?([A-Za-z]+)(\d+)([a-z-]*)(?:_.*)?", vm_size)
    if match is None:
        return "StandardSSD_LRS"
    family, _, features = match.groups()
    premium = "s" in features or (len(family) > 1 and family.upper().endswith("S"))
    return "Premium_LRS" if premium else "StandardSSD_LRS"


def _private_ip(configs: Sequence[NetworkInterfaceIPConfigurationResponse] | None) -> str | None:
    for config in configs or []:
        if config.private_ip_address:
            return config.private_ip_address
    return None
