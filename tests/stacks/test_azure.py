"""The Azure program under Pulumi mocks: what it would ask Azure Resource Manager for."""

from __future__ import annotations

import base64

import pytest
from fleetstack.stacks.azure import os_disk_storage

from .conftest import three_node_exports

VM = "azure-native:compute:VirtualMachine"
PPG = "azure-native:compute:ProximityPlacementGroup"
GROUP = "azure-native:resources:ResourceGroup"
NSG = "azure-native:network:NetworkSecurityGroup"
NIC = "azure-native:network:NetworkInterface"
PUBLIC_IP = "azure-native:network:PublicIPAddress"
SUBNET = "azure-native:network:Subnet"
VNET = "azure-native:network:VirtualNetwork"


@pytest.fixture(scope="module")
def a100_cluster(cluster_spec, run_program):
    spec = cluster_spec(
        "azure",
        region="eastus",
        instance_type="Standard_NC24ads_A100_v4",
        gpu_name="A100",
        gpu_count=1,
        max_price=3.5,
        disk_gb=300,
        ports=(8888, 8000),
        allowed_cidr="192.0.2.0/24",
        tags={"team": "ml"},
    )
    return spec, run_program(spec)


@pytest.fixture(scope="module")
def cpu_node(make_spec, run_program):
    spec = make_spec("azure", region="westeurope", zone="2", instance_type="Standard_D4s_v5")
    return spec, run_program(spec)


def test_a_cluster_has_one_spot_vm_per_node_in_one_proximity_placement_group(a100_cluster):
    spec, ev = a100_cluster
    vms = ev.of_type(VM)
    assert [vm.name for vm in vms] == [f"{spec.resource_prefix}-node-{n}" for n in range(3)]
    ppg = ev.one(PPG)
    assert {vm.inputs["proximityPlacementGroup"]["id"] for vm in vms} == {ppg.id}
    for vm in vms:
        assert vm.inputs["hardwareProfile"] == {"vmSize": "Standard_NC24ads_A100_v4"}
        assert vm.inputs["priority"] == "Spot"
        assert vm.inputs["evictionPolicy"] == "Delete"
        assert vm.inputs["billingProfile"] == {"maxPrice": 3.5}
        assert vm.inputs["location"] == "eastus"


def test_vms_boot_the_gpu_image_with_the_disk_size_user_data_and_key(a100_cluster):
    spec, ev = a100_cluster
    for vm in ev.of_type(VM):
        storage = vm.inputs["storageProfile"]
        assert storage["imageReference"] == {
            "publisher": "microsoft-dsvm",
            "offer": "ubuntu-hpc",
            "sku": "2204",
            "version": "latest",
        }
        assert storage["osDisk"]["diskSizeGB"] == 300
        assert storage["osDisk"]["managedDisk"] == {"storageAccountType": "Premium_LRS"}
        assert base64.b64decode(vm.inputs["userData"]).decode() == spec.user_data
        os_profile = vm.inputs["osProfile"]
        assert base64.b64decode(os_profile["customData"]).decode() == spec.user_data
        assert os_profile["adminUsername"] == "ubuntu"
        linux = os_profile["linuxConfiguration"]
        assert linux["disablePasswordAuthentication"] is True
        assert linux["ssh"]["publicKeys"] == [
            {"keyData": spec.ssh_public_key, "path": "/home/ubuntu/.ssh/authorized_keys"}
        ]


def test_each_node_has_its_own_static_ip_and_nic_behind_the_fleet_nsg(a100_cluster):
    _, ev = a100_cluster
    nsg, subnet = ev.one(NSG), ev.one(SUBNET)
    ips, nics, vms = ev.of_type(PUBLIC_IP), ev.of_type(NIC), ev.of_type(VM)
    assert len(ips) == len(nics) == len(vms) == 3
    for ip, nic, vm in zip(ips, nics, vms, strict=True):
        assert ip.inputs["sku"] == {"name": "Standard"}
        assert ip.inputs["publicIPAllocationMethod"] == "Static"
        [config] = nic.inputs["ipConfigurations"]
        assert config["publicIPAddress"] == {"id": ip.id}
        assert config["subnet"]["id"] == subnet.id
        assert nic.inputs["networkSecurityGroup"] == {"id": nsg.id}
        assert vm.inputs["networkProfile"]["networkInterfaces"][0]["id"] == nic.id
    assert subnet.inputs["virtualNetworkName"] == ev.one(VNET).name


def test_nsg_opens_only_ssh_to_the_allowed_cidr(a100_cluster):
    _, ev = a100_cluster
    [rule] = ev.one(NSG).inputs["securityRules"]
    assert rule["destinationPortRanges"] == ["22"]  # task ports go through SSH
    assert rule["sourceAddressPrefix"] == "192.0.2.0/24"
    assert (rule["direction"], rule["access"], rule["protocol"]) == ("Inbound", "Allow", "Tcp")


def test_everything_lives_in_the_fleets_resource_group_with_the_fleet_tags(a100_cluster):
    spec, ev = a100_cluster
    group = ev.one(GROUP)
    assert group.inputs["location"] == "eastus"
    for resource in ev.resources:
        if resource is not group:
            assert resource.inputs["resourceGroupName"] == group.name, resource.typ
        if resource.typ != SUBNET:  # subnets take no tags
            assert resource.inputs["tags"] == spec.all_tags, resource.typ
    assert spec.all_tags["team"] == "ml"


def test_exports_list_vms_and_ips_in_node_order(a100_cluster):
    _, ev = a100_cluster
    assert ev.exports == three_node_exports([vm.id for vm in ev.of_type(VM)])


def test_a_cpu_node_is_a_regular_ubuntu_vm_in_its_zone(cpu_node):
    _, ev = cpu_node
    vm = ev.one(VM)
    assert vm.inputs["storageProfile"]["imageReference"] == {
        "publisher": "Canonical",
        "offer": "0001-com-ubuntu-server-jammy",
        "sku": "22_04-lts-gen2",
        "version": "latest",
    }
    for key in ("priority", "evictionPolicy", "billingProfile", "proximityPlacementGroup"):
        assert key not in vm.inputs
    assert ev.of_type(PPG) == []
    assert vm.inputs["zones"] == ["2"]
    assert ev.one(PUBLIC_IP).inputs["zones"] == ["2"]
    [rule] = ev.one(NSG).inputs["securityRules"]
    assert rule["destinationPortRanges"] == ["22"]
    assert rule["sourceAddressPrefix"] == "0.0.0.0/0"


def test_spot_without_max_price_pays_up_to_on_demand(make_spec, run_program):
    spec = make_spec("azure", region="eastus", instance_type="Standard_NC4as_T4_v3", spot=True)
    vm = run_program(spec).one(VM)
    assert vm.inputs["priority"] == "Spot"
    assert vm.inputs["billingProfile"] == {"maxPrice": -1}


@pytest.mark.parametrize(
    ("vm_size", "storage"),
    [
        ("Standard_D4s_v5", "Premium_LRS"),
        ("Standard_NC24ads_A100_v4", "Premium_LRS"),
        ("Standard_ND96asr_v4", "Premium_LRS"),
        ("Standard_DS3_v2", "Premium_LRS"),
        ("Standard_NC6", "StandardSSD_LRS"),
        ("Standard_A2_v2", "StandardSSD_LRS"),
        ("Standard_D4_v5", "StandardSSD_LRS"),
    ],
)
def test_os_disk_is_premium_only_where_the_size_supports_it(vm_size, storage):
    assert os_disk_storage(vm_size) == storage
