"""What a reviewer needs to see of a resource's inputs, in one short line per fact.

Used by the offline plan: for an instance, its size, zone, image, disk, spot terms, GPUs and
placement; for a firewall, which ports are open to which addresses. Inputs arrive with the
engine's camelCase names and nested as the SDKs send them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PLACEHOLDER = "offline-placeholder"

# (label, dotted path) read as plain values; the first path found per label wins. Each
# program module lists its cloud's paths as REVIEW_INPUTS.
ReviewPaths = Sequence[tuple[str, str]]


def summarize(inputs: Mapping[str, object], paths: ReviewPaths) -> list[str]:
    """`["size=g5.xlarge", "disk=200GB", "market=spot", "ingress=22,8000 from 0.0.0.0/0"]`.

    `paths` are the program's REVIEW_INPUTS; GPUs and ingress rules are read for every cloud.
    """
    facts: dict[str, str] = {}
    for label, path in paths:
        value = _get(inputs, path)
        if label in facts or value is None or value == "" or _unknown(value):
            continue
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        text = _number(value)
        if text == PLACEHOLDER or text.startswith(f"{PLACEHOLDER}"):
            text = "(looked up at apply)"
        facts[label] = f"{text}GB" if label == "disk" else text
    gpus = _gpus(inputs)
    if gpus:
        facts["gpus"] = gpus
    ingress = _ingress(inputs)
    if ingress:
        facts["ingress"] = ingress
    return [f"{label}={value}" for label, value in facts.items()]


def flatten_inputs(inputs: Mapping[str, object]) -> dict[str, str]:
    """Every declared input as `dotted.key -> text` (lists indexed `key[0]`), unknown values
    left out; user-data given base64 (gzipped or not) is decoded, so a reviewer reads the
    boot script that will run."""
    flat: dict[str, str] = {}
    _flatten(inputs, "", flat)
    for key in [k for k in flat if k.rsplit(".", 1)[-1] in _USER_DATA]:
        flat[key] = readable_cloud_config(decoded_user_data(flat[key]))
    return flat


def readable_cloud_config(text: str) -> str:
    """A `#cloud-config` document with the files it writes shown decoded (`gz+b64`, `b64`);
    any other text unchanged."""
    if not text.startswith("#cloud-config"):
        return text
    import yaml  # with the SDKs that call this: loaded when a program is evaluated

    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    files = document.get("write_files") if isinstance(document, dict) else None
    for entry in files if isinstance(files, list) else []:
        encoding = entry.get("encoding") if isinstance(entry, dict) else None
        if encoding in ("gz+b64", "gzip+base64", "b64", "base64") and "content" in entry:
            entry["content"] = decoded_user_data(str(entry["content"]))
            entry["encoding"] = f"{encoding}, shown decoded"

    class Readable(yaml.SafeDumper):
        """Multi-line strings as literal blocks: a script reads as the script."""

    def literal(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Readable.add_representer(str, literal)
    body = yaml.dump(document, Dumper=Readable, sort_keys=False, width=10_000)
    return "#cloud-config\n" + body


def decoded_user_data(value: str) -> str:
    """`value` as text: base64 decoded, then gunzipped when it is gzip; unchanged when it is
    not base64 of either."""
    import base64
    import binascii
    import gzip

    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError):
            return value
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return value


# Input names whose value is user-data: as is (AWS, GCP metadata), base64 (AWS
# user_data_base64, Azure custom data; decoded_user_data tells them apart).
_USER_DATA = ("userData", "user-data", "userDataBase64", "customData")


def _flatten(value: object, prefix: str, flat: dict[str, str]) -> None:
    if _unknown(value) or value is None:
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(item, f"{prefix}.{key}" if prefix else str(key), flat)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _flatten(item, f"{prefix}[{i}]", flat)
    else:
        flat[prefix] = _number(value)


def _gpus(inputs: Mapping[str, object]) -> str:
    parts = []
    for accel in _items(inputs.get("guestAccelerators")):
        if isinstance(accel, dict):
            parts.append(f"{_number(accel.get('count', 1))}×{accel.get('type', '?')}")
    return ",".join(parts)


def _ingress(inputs: Mapping[str, object]) -> str:
    rules = []
    for rule in _items(inputs.get("ingress")):  # AWS security group
        if not isinstance(rule, dict) or rule.get("protocol") == "-1" and rule.get("self"):
            continue
        low, high = _number(rule.get("fromPort")), _number(rule.get("toPort"))
        ports = low if low == high else f"{low}-{high}"
        rules.append((ports, _joined(rule.get("cidrBlocks")) or "its own nodes"))
    sources = _joined(inputs.get("sourceRanges")) or "its own nodes"
    for allow in _items(inputs.get("allows")):  # GCP firewall
        if isinstance(allow, dict):
            ports = ",".join(str(p) for p in allow.get("ports") or []) or "all"
            rules.append((ports, sources))
    for rule in _items(inputs.get("securityRules")):  # Azure NSG
        if isinstance(rule, dict) and rule.get("direction", "Inbound") == "Inbound":
            ports = ",".join(str(p) for p in rule.get("destinationPortRanges") or [])
            rules.append((ports or str(rule.get("destinationPortRange", "*")),
                          str(rule.get("sourceAddressPrefix", "*"))))  # fmt: skip
    grouped: dict[str, list[str]] = {}
    for ports, source in rules:
        grouped.setdefault(source, []).append(ports)
    return "; ".join(f"{','.join(ports)} from {source}" for source, ports in grouped.items())


def _get(inputs: Mapping[str, object], path: str) -> object:
    value: object = inputs
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _unknown(value: object) -> bool:
    return type(value).__name__ == "Unknown"


def _items(value: object) -> list[object]:
    # a list input (rules, accelerators); absent or None: none
    return value if isinstance(value, list) else []


def _joined(value: object) -> str:
    # a list of strings (CIDR blocks, source ranges) comma-joined; absent or None: ""
    return ",".join(str(v) for v in _items(value))
