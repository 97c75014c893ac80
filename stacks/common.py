"""Small decisions every cloud program makes the same way (no SDK imports here)."""

from __future__ import annotations

from .errors import StackError
from .spec import StackSpec

SSH_PORT = 22
SSH_USER = "ubuntu"


def inbound_ports(spec: StackSpec) -> list[int]:
    """TCP ports opened to `spec.allowed_cidr`: SSH only. A task's ports reach the user
    through the SSH connection (forwarded to 127.0.0.1), never through the firewall."""
    return [SSH_PORT]


def wants_nvidia_image(spec: StackSpec) -> bool:
    """True when the nodes have NVIDIA GPUs, so the boot image should carry the driver."""
    return spec.gpu_count > 0 and (spec.gpu_vendor or "nvidia").lower() == "nvidia"


def format_price(price: float) -> str:
    """A price as the plain decimal string cloud APIs expect (`0.5`, `1.2345`), never `1e-05`."""
    return f"{price:.6f}".rstrip("0").rstrip(".")


def node_names(spec: StackSpec) -> list[str]:
    """Logical resource names of the nodes, in node order (`<prefix>-node-0`, ...)."""
    return [f"{spec.resource_prefix}-node-{i}" for i in range(spec.nodes)]


def check_spec(spec: StackSpec) -> None:
    """Refuse a spec no cloud could build, with the field to fix."""
    if spec.nodes < 1:
        raise StackError(f"fleet {spec.fleet!r}: nodes is {spec.nodes}; a fleet needs 1 or more")
    if spec.disk_gb < 1:
        raise StackError(f"fleet {spec.fleet!r}: disk size is {spec.disk_gb} GB; give 1 or more")
    if not spec.ssh_public_key.strip():
        raise StackError(f"fleet {spec.fleet!r}: no SSH public key; the nodes would be unreachable")


def check_user_data_size(spec: StackSpec, *, limit: int, where: str) -> None:
    """Refuse a boot script larger than the cloud accepts (Azure custom data 64 KB, GCP
    metadata values 256 KB) before anything is created."""
    size = len(spec.user_data.encode())
    if size > limit:
        raise StackError(
            f"fleet {spec.fleet!r}: the boot script is {size // 1024} KB; {where} accepts "
            f"{limit // 1024} KB: shorten the commands or env, or move large files into the image"
        )
