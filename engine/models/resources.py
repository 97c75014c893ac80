"""The resources models of .dstack.yml (`gpu: A100:80GB:2`, `disk: 200GB..1TB`, ...).

Each model accepts dstack's text forms (parsed by resource_grammar, whose public parsers are
re-exported here) as well as mappings. Sizes are in GB, counts are ints, open ends are None.
Defaults follow dstack: cpu `2..`, memory `8GB..`, disk `100GB..`, gpu count `0..` when no
GPU is asked for and `1..` when one is named (by name, vendor, memory or capability).
Stricter than dstack: negative counts or sizes and ranges whose min exceeds max are errors.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)

from .resource_grammar import (
    GPU_EXAMPLES,
    VENDORS,
    Vendor,
    check_bounds,
    format_number,
    gpu_vendor_of,
    json_number,
    parse_count,
    parse_cpu,
    parse_gpu,
    parse_size,
    parse_size_range,
    range_text,
)
from .short_forms import ShortForms

__all__ = [  # the grammar's public parsers, importable from here as before the split
    "CPUSpec",
    "DiskSpec",
    "GPUSpec",
    "IntRange",
    "ResourcesSpec",
    "SizeRange",
    "gpu_vendor_of",
    "parse_count",
    "parse_size",
    "parse_size_range",
]


class _TextForms(ShortForms):
    """A model also written as text (`24GB..`) or a number: its JSON schema says so."""

    model_config = ConfigDict(extra="forbid")


class _Range(_TextForms):
    """Bounds written `2`, `2..`, `..8`, `2..8` (open ends None), checked min <= max."""

    min: float | None
    max: float | None
    what: ClassVar[str]
    unit: ClassVar[str]

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return value if isinstance(value, cls) else cls.parse_text(value)

    @classmethod
    def parse_text(cls, value: object) -> dict[str, float | None] | dict[str, int | None]:
        raise NotImplementedError

    @model_validator(mode="after")
    def _check(self) -> _Range:
        check_bounds(self.min, self.max, self.what, self.unit)
        return self

    def text(self) -> str:
        return range_text(self.min, self.max, self.unit)

    def to_json(self) -> dict[str, float | None]:
        """{min, max} with whole numbers as ints (dstack's normalized form)."""
        return {"min": json_number(self.min), "max": json_number(self.max)}


class IntRange(_Range):
    """A count range: `2` (exactly 2), `2..`, `..8`, `2..8`. Open ends are None."""

    what = "count"
    unit = ""

    min: int | None = Field(default=None, description="Lower bound (inclusive); null = none")
    max: int | None = Field(default=None, description="Upper bound (inclusive); null = none")

    @classmethod
    def parse_text(cls, value: object) -> dict[str, int | None]:
        return parse_count(value)


class SizeRange(_Range):
    """A size range in GB: `80GB` (exactly), `24GB..`, `..80GB`, `200GB..1TB`."""

    json_types = ("number", "string")
    what = "size"
    unit = "GB"

    min: float | None = Field(default=None, description="Lower bound in GB; null = none")
    max: float | None = Field(default=None, description="Upper bound in GB; null = none")

    @classmethod
    def parse_text(cls, value: object) -> dict[str, float | None]:
        return parse_size_range(value)


class CPUSpec(_TextForms):
    """`cpu: 8..`, `cpu: arm:4`, `cpu: {arch: x86, count: 2..8}`."""

    arch: Literal["x86", "arm"] | None = Field(
        default=None, description="CPU architecture: x86 or arm (any when omitted)"
    )
    count: IntRange = Field(
        default_factory=lambda: IntRange(min=2),
        description="Number of CPU cores, e.g. 8 or 8.. or 4..16 (default 2..)",
    )

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return value if isinstance(value, CPUSpec) else parse_cpu(value)


class GPUSpec(_TextForms):
    """`gpu: A100:80GB:2`, `gpu: 24GB..`, `gpu: {name: [A10G, L4], count: 1..2}`."""

    vendor: Annotated[
        Vendor | None,
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

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        return value if isinstance(value, GPUSpec) else parse_gpu(value)

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


class DiskSpec(_TextForms):
    """`disk: 100GB..`, `disk: 200GB..1TB`, `disk: {size: 500GB}`."""

    model_config = ConfigDict(extra="forbid")

    size: SizeRange = Field(description="Disk size, e.g. 100GB.. or 200GB..1TB")

    json_types = ("number", "string")

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
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
    def _parse(cls, value: object) -> object:
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

    def normalized(self) -> dict[str, object]:
        """dstack's normalized structure (sizes in GB as numbers, open ends null)."""
        g = self.gpu
        return {
            "cpu": {"arch": self.cpu.arch, "count": self.cpu.count.to_json()},
            "memory": self.memory.to_json(),
            "shm_size": json_number(self.shm_size),
            "gpu": {
                "vendor": g.vendor,
                "name": list(g.name) if g.name else None,
                "count": g.count.to_json(),
                "memory": g.memory.to_json() if g.memory else None,
                "total_memory": g.total_memory.to_json() if g.total_memory else None,
                "compute_capability": g.compute_capability,
            },
            "disk": {"size": self.disk.size.to_json()} if self.disk else None,
        }

    def pretty(self) -> str:
        """One line, e.g. "2..xCPU, 8GB.., 1..xA100:80GB, 100GB.. (disk)"."""
        arch = f"{self.cpu.arch}:" if self.cpu.arch else ""
        parts = [f"{arch}{self.cpu.count.text()}xCPU", self.memory.text()]
        if self.wants_gpu or (self.gpu.count.max is not None and self.gpu.count.max > 0):
            parts.append(self.gpu.text())
        if self.shm_size is not None:
            parts.append(f"{format_number(self.shm_size)}GB (shm)")
        if self.disk is not None:
            parts.append(f"{self.disk.size.text()} (disk)")
        return ", ".join(parts)
