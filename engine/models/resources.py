"""The resources grammar of .dstack.yml (`gpu: A100:80GB:2`, `disk: 200GB..1TB`, ...).

Sizes are in GB (float, `1TB` = 1024GB, `512MB` = 0.5GB), counts are ints, open ends are None.
Defaults follow dstack: cpu `2..`, memory `8GB..`, disk `100GB..`, gpu count `0..` when no
GPU is asked for and `1..` when one is named (by name, vendor, memory or capability).
Stricter than dstack: negative counts or sizes and ranges whose min exceeds max are errors.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

GPU_EXAMPLES = "A100, 24GB.., A100:80GB:2, H100:8, A10G,L4, nvidia:2, 24GB..80GB:1..2"
VENDORS = ("nvidia", "amd", "google", "intel", "tenstorrent")
_VENDOR_ALIASES = {"tpu": "google", "gaudi": "intel"}

_NUMBER = r"\d+(?:\.\d+)?"
_SIZE = re.compile(rf"^({_NUMBER})\s*(mb|gb|tb)?$", re.IGNORECASE)
_SIZE_WITH_UNIT = re.compile(rf"^-?{_NUMBER}\s*(mb|gb|tb)$", re.IGNORECASE)
_COUNT_TOKEN = re.compile(r"^-?\d*\s*(\.\.)?\s*-?\d*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+\- ]*$")
_CAPABILITY = re.compile(r"^\d+\.\d+$")
_UNIT_GB = {"mb": 1 / 1024, "gb": 1.0, "tb": 1024.0, "": 1.0}

_NVIDIA = {
    "a10", "a10g", "a100", "a40", "a16", "a2", "a30", "a4000", "a4500", "a5000", "a6000",
    "a800", "b100", "b200", "gb200", "gh200", "h100", "h100nvl", "h200", "h20", "h800", "k80",
    "l4", "l40", "l40s", "m60", "p100", "p4", "p40", "rtx3060", "rtx3070", "rtx3080",
    "rtx3090", "rtx4060", "rtx4070", "rtx4080", "rtx4090", "rtx5090", "rtx6000", "rtxa4000",
    "rtxa5000", "rtxa6000", "t4", "v100", "b300", "gb300", "rtxpro6000",
}  # fmt: skip
_AMD = {
    "mi100", "mi210", "mi250", "mi250x", "mi300a", "mi300x", "mi308x", "mi325x", "mi350x",
    "mi355x", "rx7900xtx", "w7900",
}  # fmt: skip
_INTEL = {"gaudi", "gaudi2", "gaudi3"}
_TENSTORRENT = {"n150", "n300", "p100a", "p150a", "p150b", "galaxy"}
_TPU = re.compile(r"^(tpu-)?v\d+[a-z]*(-\d+)?$", re.IGNORECASE)


class IntRange(BaseModel):
    """A count range: `2` (exactly 2), `2..`, `..8`, `2..8`. Open ends are None."""

    model_config = ConfigDict(extra="forbid")

    min: int | None = Field(default=None, description="Lower bound (inclusive); null = none")
    max: int | None = Field(default=None, description="Upper bound (inclusive); null = none")

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return _with_text_forms(handler(core_schema), ["integer", "string"])

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return parse_count(value)

    @model_validator(mode="after")
    def _check(self) -> IntRange:
        _check_bounds(self.min, self.max, "count", "")
        return self

    def text(self) -> str:
        return _range_text(self.min, self.max, "")


class SizeRange(BaseModel):
    """A size range in GB: `80GB` (exactly), `24GB..`, `..80GB`, `200GB..1TB`."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = Field(default=None, description="Lower bound in GB; null = none")
    max: float | None = Field(default=None, description="Upper bound in GB; null = none")

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return _with_text_forms(handler(core_schema), ["number", "string"])

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return parse_size_range(value)

    @model_validator(mode="after")
    def _check(self) -> SizeRange:
        _check_bounds(self.min, self.max, "size", "GB")
        return self

    def text(self) -> str:
        return _range_text(self.min, self.max, "GB")


class CPUSpec(BaseModel):
    """`cpu: 8..`, `cpu: arm:4`, `cpu: {arch: x86, count: 2..8}`."""

    model_config = ConfigDict(extra="forbid")

    arch: Literal["x86", "arm"] | None = Field(
        default=None, description="CPU architecture: x86 or arm (any when omitted)"
    )
    count: IntRange = Field(
        default_factory=lambda: IntRange(min=2),
        description="Number of CPU cores, e.g. 8 or 8.. or 4..16 (default 2..)",
    )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return _with_text_forms(handler(core_schema), ["integer", "string"])

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return _parse_cpu(value)


class GPUSpec(BaseModel):
    """`gpu: A100:80GB:2`, `gpu: 24GB..`, `gpu: {name: [A10G, L4], count: 1..2}`."""

    model_config = ConfigDict(extra="forbid")

    vendor: Annotated[
        Literal["nvidia", "amd", "google", "intel", "tenstorrent"] | None,
        WithJsonSchema({"enum": [*VENDORS, "tpu", None]}, mode="validation"),
    ] = Field(
        default=None,
        description="GPU vendor: nvidia, amd, google (alias tpu), intel or tenstorrent; "
        "inferred from known GPU names",
    )
    name: Annotated[
        list[str] | None,
        WithJsonSchema(
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
            mode="validation",
        ),
    ] = Field(
        default=None, description="Accepted GPU names, e.g. A100 or [A10G, L4] or v5litepod-8"
    )
    count: IntRange = Field(
        default_factory=lambda: IntRange(min=0),
        description="Number of GPUs, e.g. 2 or 1..8 (1.. when a GPU is named, 0.. otherwise)",
    )
    memory: SizeRange | None = Field(
        default=None, description="Memory per GPU, e.g. 24GB.. or 40GB..80GB"
    )
    total_memory: SizeRange | None = Field(
        default=None, description="Memory of all GPUs together, e.g. 80GB.."
    )
    compute_capability: Annotated[
        str | None, WithJsonSchema({"type": ["string", "number", "null"]}, mode="validation")
    ] = Field(default=None, description="Minimum NVIDIA compute capability, e.g. 8.0")

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return _with_text_forms(handler(core_schema), ["integer", "string"])

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        return _parse_gpu(value)

    @model_validator(mode="after")
    def _infer_vendor(self) -> GPUSpec:
        if self.name:
            # dstack: inferred from the names, nvidia for names it does not know
            vendors = {gpu_vendor_of(n) or "nvidia" for n in self.name}
            if self.vendor is None and len(vendors) == 1:
                self.vendor = vendors.pop()
            elif self.vendor is not None:
                wrong = [n for n in self.name if gpu_vendor_of(n) not in (None, self.vendor)]
                if wrong:
                    raise ValueError(
                        f"{wrong[0]} is made by {gpu_vendor_of(wrong[0])}, not {self.vendor}: "
                        f"drop the vendor or the name"
                    )
        return self

    def text(self) -> str:
        parts = []
        if self.name:
            parts.append(",".join(self.name))
        elif self.vendor:
            parts.append(self.vendor)
        if self.memory:
            parts.append(self.memory.text())
        what = ":".join(parts) or "GPU"
        return f"{self.count.text()}x{what}"


class DiskSpec(BaseModel):
    """`disk: 100GB..`, `disk: 200GB..1TB`, `disk: {size: 500GB}`."""

    model_config = ConfigDict(extra="forbid")

    size: SizeRange = Field(description="Disk size, e.g. 100GB.. or 200GB..1TB")

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        return _with_text_forms(handler(core_schema), ["number", "string"])

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, dict) and "size" in value:
            return value
        if isinstance(value, DiskSpec):
            return value
        return {"size": value}


class ResourcesSpec(BaseModel):
    """What a run or fleet needs; dstack's defaults apply to what is left out."""

    model_config = ConfigDict(extra="forbid")

    cpu: CPUSpec = Field(
        default_factory=CPUSpec,
        description="CPU cores and architecture, e.g. 8.., arm:4, {arch: x86, count: 2..8} "
        "(default 2..)",
    )
    memory: SizeRange = Field(
        default_factory=lambda: SizeRange(min=8),
        description="RAM, e.g. 64GB.. or 32GB..128GB (default 8GB..)",
    )
    shm_size: Annotated[
        float | None,
        WithJsonSchema({"type": ["number", "string", "null"]}, mode="validation"),
    ] = Field(default=None, description="Shared memory (/dev/shm) size, e.g. 16GB")
    gpu: GPUSpec = Field(
        default_factory=GPUSpec,
        description=f"GPUs, e.g. {GPU_EXAMPLES}, or a mapping of name, count, memory, "
        "total_memory, vendor, compute_capability (default: no GPU required)",
    )
    disk: DiskSpec | None = Field(
        default_factory=lambda: DiskSpec(size=SizeRange(min=100)),
        description="Disk size, e.g. 200GB.. or 200GB..1TB (default 100GB..)",
    )

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, dict):
            # an explicit null means "the default", as when the key is left out
            value = {k: v for k, v in value.items() if v is not None}
            if "shm_size" in value:
                value["shm_size"] = parse_size(value["shm_size"], what="shm_size")
            return value
        if isinstance(value, ResourcesSpec):
            return value
        raise ValueError(
            "resources must be a mapping, e.g. {gpu: A100:80GB, cpu: 8.., disk: 200GB..}"
        )

    @classmethod
    def unconstrained(cls) -> ResourcesSpec:
        """What a fleet without `resources` accepts: cpu 1.., memory 0GB.., any GPU, any disk."""
        spec = cls(cpu=CPUSpec(count=IntRange(min=1)), memory=SizeRange(min=0), gpu=GPUSpec())
        spec.disk = None  # set after validation: an explicit null in YAML means the default
        return spec

    @property
    def wants_gpu(self) -> bool:
        g = self.gpu
        return bool(
            (g.count.min or 0) > 0 or g.name or g.memory or g.total_memory or g.compute_capability
        )

    def normalized(self) -> dict[str, Any]:
        """dstack's normalized structure (sizes in GB as numbers, open ends null)."""
        g = self.gpu
        return {
            "cpu": {"arch": self.cpu.arch, "count": _range_json(self.cpu.count)},
            "memory": _range_json(self.memory),
            "shm_size": _number(self.shm_size),
            "gpu": {
                "vendor": g.vendor,
                "name": list(g.name) if g.name else None,
                "count": _range_json(g.count),
                "memory": _range_json(g.memory) if g.memory else None,
                "total_memory": _range_json(g.total_memory) if g.total_memory else None,
                "compute_capability": g.compute_capability,
            },
            "disk": {"size": _range_json(self.disk.size)} if self.disk else None,
        }

    def pretty(self) -> str:
        """One line, e.g. "2..xCPU, 8GB.., 1..xA100:80GB, 100GB.. (disk)"."""
        arch = f"{self.cpu.arch}:" if self.cpu.arch else ""
        parts = [f"{arch}{self.cpu.count.text()}xCPU", self.memory.text()]
        if self.wants_gpu or (self.gpu.count.max is not None and self.gpu.count.max > 0):
            parts.append(self.gpu.text())
        if self.shm_size is not None:
            parts.append(f"{_fmt(self.shm_size)}GB (shm)")
        if self.disk is not None:
            parts.append(f"{self.disk.size.text()} (disk)")
        return ", ".join(parts)


# ---- parsing helpers (public ones are reused by `dstack offer` flags) ----


def parse_size(value: Any, *, what: str = "size") -> float:
    """GB of `80GB`, `1TB`, `512MB` or a plain number (GB). ValueError says what is accepted."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a size such as 80GB, 1TB or 512MB, got {value}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"{what} cannot be negative ({value}): write e.g. 100GB")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected a size such as 80GB, 1TB or 512MB")
    text = value.strip()
    if text.startswith("-"):
        raise ValueError(f"{what} cannot be negative ({text}): write e.g. 100GB")
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{what}: expected a size such as 80GB, 1TB or 512MB, got {value!r}")
    number, unit = match.groups()
    return float(number) * _UNIT_GB[(unit or "").lower()]


def parse_size_range(value: Any) -> Any:
    """{min, max} in GB from `24GB..`, `..80GB`, `200GB..1TB`, `80GB` or a number."""
    if isinstance(value, SizeRange):
        return value
    if isinstance(value, dict):
        _only_keys(value, ("min", "max"), "a size range")
        return {
            k: (None if value.get(k) is None else parse_size(value[k], what="size"))
            for k in ("min", "max")
        }
    if isinstance(value, str) and ".." in value:
        lo, hi = (part.strip() for part in value.split("..", 1))
        if not lo and not hi:
            raise ValueError("a size range needs at least one end, e.g. 24GB.. or ..80GB")
        return {
            "min": parse_size(lo, what="size") if lo else None,
            "max": parse_size(hi, what="size") if hi else None,
        }
    size = parse_size(value, what="size")
    return {"min": size, "max": size}


def parse_count(value: Any) -> Any:
    """{min, max} from `2`, `2..`, `..8`, `2..8` or an int."""
    if isinstance(value, IntRange):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected a count such as 2, 1.. or 2..8, got {value}")
    if isinstance(value, int):
        _check_not_negative(value)
        return {"min": value, "max": value}
    if isinstance(value, dict):
        _only_keys(value, ("min", "max"), "a count range")
        return {k: _count_number(value.get(k)) for k in ("min", "max")}
    if not isinstance(value, str):
        raise ValueError(f"expected a count such as 2, 1.. or 2..8, got {value!r}")
    text = value.strip()
    if ".." in text:
        lo, hi = (part.strip() for part in text.split("..", 1))
        if not lo and not hi:
            raise ValueError("a count range needs at least one end, e.g. 1.. or ..8")
        return {"min": _count_number(lo or None), "max": _count_number(hi or None)}
    number = _count_number(text)
    return {"min": number, "max": number}


def gpu_vendor_of(name: str) -> str | None:
    """The vendor of a known GPU/accelerator name (None when unknown)."""
    key = name.strip().lower().replace(" ", "").replace("-", "")
    if key in _NVIDIA:
        return "nvidia"
    if key in _AMD:
        return "amd"
    if key in _INTEL:
        return "intel"
    if key in _TENSTORRENT:
        return "tenstorrent"
    if _TPU.match(name.strip()):
        return "google"
    return None


def _count_number(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a count such as 2, 1.. or 2..8, got {value}")
    if isinstance(value, int):
        _check_not_negative(value)
        return value
    text = str(value).strip()
    if re.fullmatch(r"-\d+", text):
        _check_not_negative(int(text))
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"expected a count such as 2, 1.. or 2..8, got {value!r}")
    return int(text)


def _check_not_negative(value: int) -> None:
    if value < 0:
        raise ValueError(f"a count cannot be negative ({value}): write e.g. 1 or 1..")


def _check_bounds(lo: float | None, hi: float | None, what: str, unit: str) -> None:
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(
            f"the {what} range {_fmt(lo)}{unit}..{_fmt(hi)}{unit} has its min above its max: "
            f"write {_fmt(hi)}{unit}..{_fmt(lo)}{unit}"
        )


def _only_keys(value: dict, allowed: tuple[str, ...], what: str) -> None:
    extra = [str(k) for k in value if k not in allowed]
    if extra:
        raise ValueError(f"{what} accepts only {', '.join(allowed)}; got {', '.join(extra)}")


def _parse_cpu(value: Any) -> Any:
    if isinstance(value, CPUSpec):
        return value
    if isinstance(value, bool):
        raise ValueError("cpu: expected a count such as 8.., arm:4 or {arch: x86, count: 2..}")
    if isinstance(value, int):
        return {"count": value}
    if isinstance(value, dict):
        if set(value) <= {"min", "max"} and value:
            return {"count": value}
        return value
    if not isinstance(value, str):
        raise ValueError("cpu: expected a count such as 8.., arm:4 or {arch: x86, count: 2..}")
    result: dict[str, Any] = {}
    for token in (t.strip() for t in value.split(":")):
        lowered = token.lower()
        if lowered in ("x86", "arm"):
            _set_once(result, "arch", lowered, value, "cpu")
        elif token and _COUNT_TOKEN.match(token):
            _set_once(result, "count", token, value, "cpu")
        else:
            raise ValueError(
                f"cpu: cannot read {token!r} in {value!r}: write a count (8, 8.., 4..16), "
                "an arch (x86, arm) or both, e.g. arm:4"
            )
    return result


def _parse_gpu(value: Any) -> Any:
    if isinstance(value, GPUSpec):
        return value
    if isinstance(value, bool):
        raise ValueError(f"gpu: expected e.g. {GPU_EXAMPLES}, got {value}")
    if isinstance(value, int):
        return {"count": value}
    if isinstance(value, dict):
        return _gpu_mapping(value)
    if not isinstance(value, str):
        raise ValueError(f"gpu: expected e.g. {GPU_EXAMPLES}, got {value!r}")
    result: dict[str, Any] = {}
    for token in (t.strip() for t in value.split(":")):
        if not token:
            raise ValueError(f"gpu: empty part in {value!r}: write e.g. {GPU_EXAMPLES}")
        lowered = token.lower()
        if lowered in VENDORS or lowered in _VENDOR_ALIASES:
            _set_once(result, "vendor", _VENDOR_ALIASES.get(lowered, lowered), value, "gpu")
        elif _COUNT_TOKEN.match(token):
            _set_once(result, "count", token, value, "gpu")
        elif _is_size_token(token):
            _set_once(result, "memory", token, value, "gpu")
        else:
            _set_once(result, "name", _split_names(token), value, "gpu")
    if "count" not in result:
        result["count"] = "1.."
    return result


def _gpu_mapping(value: dict) -> dict:
    result = dict(value)
    if "vendor" in result and isinstance(result["vendor"], str):
        lowered = result["vendor"].strip().lower()
        result["vendor"] = _VENDOR_ALIASES.get(lowered, lowered)
    if "name" in result:
        names = result["name"]
        if isinstance(names, str):
            result["name"] = _split_names(names)
        elif isinstance(names, list):
            result["name"] = [n for item in names for n in _split_names(str(item))]
    cc = result.get("compute_capability")
    if isinstance(cc, int | float) and not isinstance(cc, bool):
        result["compute_capability"] = f"{float(cc):.1f}"
    if isinstance(result.get("compute_capability"), str):
        text = result["compute_capability"].strip()
        if not _CAPABILITY.match(text):
            raise ValueError(f"compute_capability: expected e.g. 8.0 or 9.0, got {text!r}")
        result["compute_capability"] = text
    if "count" not in result and any(v is not None for v in result.values()):
        result["count"] = "1.."
    return {k: v for k, v in result.items() if v is not None}


def _split_names(token: str) -> list[str]:
    names = [n.strip() for n in token.split(",")]
    for n in names:
        if not n or not _NAME.match(n):
            raise ValueError(f"gpu: {token!r} is not a GPU name list: write e.g. A10G,L4")
    return [n[4:].lower() if n.lower().startswith("tpu-") else n for n in names]


def _is_size_token(token: str) -> bool:
    if ".." in token:
        lo, hi = token.split("..", 1)
        return all(not p.strip() or _SIZE_WITH_UNIT.match(p.strip()) for p in (lo, hi))
    return bool(_SIZE_WITH_UNIT.match(token))


def _set_once(result: dict, key: str, item: Any, whole: str, what: str) -> None:
    if key in result:
        raise ValueError(f"{what}: {whole!r} gives the {key} twice: write e.g. {GPU_EXAMPLES}")
    result[key] = item


def _with_text_forms(schema: dict[str, Any], types: list[str]) -> dict[str, Any]:
    """The JSON schema of a model that is also written as text (`24GB..`) or a number."""
    return {"anyOf": [*({"type": t} for t in types), schema]}


def _range_json(rng: Any) -> dict[str, Any]:
    return {"min": _number(rng.min), "max": _number(rng.max)}


def _number(value: float | int | None) -> float | int | None:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _fmt(value: float | int | None) -> str:
    return "" if value is None else f"{value:g}"


def _range_text(lo: float | None, hi: float | None, unit: str) -> str:
    if lo is not None and lo == hi:
        return _with_unit(lo, unit)
    left = _with_unit(lo, unit) if lo is not None else ""
    right = _with_unit(hi, unit) if hi is not None else ""
    return f"{left}..{right}"


def _with_unit(value: float, unit: str) -> str:
    if unit == "GB" and value >= 1024 and value % 1024 == 0:
        return f"{_fmt(value / 1024)}TB"
    return f"{_fmt(value)}{unit}"
