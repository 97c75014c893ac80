"""Offers: catalog rows (through gpuhunt's filter) + the local host, matched to requirements."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

from ..backends.config import BackendsConfig, load_backends_config
from ..models.offers import Offer, OfferList, Requirements


def known_backends() -> list[str]:
    """Backends an offer can come from: ours (local included) and gpuhunt's catalog providers."""
    from ..backends.config import ALL_BACKENDS
    from .catalog import PROVIDERS

    return sorted({*ALL_BACKENDS, *PROVIDERS})


def check_backends(backends: list[str] | None, where: str) -> None:
    """FleetstackError naming `where` (e.g. "-b" or "FILE: backends") for an unknown backend."""
    from ..errors import FleetstackError

    known = known_backends()
    for backend in backends or []:
        if backend not in known:
            raise FleetstackError(
                f"{where} {backend}: unknown backend; use one of {', '.join(known)}"
            )


def find_offers(req: Requirements, *, config: BackendsConfig | None = None) -> OfferList:
    """Every matching offer, cheapest first (then more generous first); why none, if none."""
    from .catalog import catalog_source
    from .rows import paused_gc

    config = config if config is not None else load_backends_config()
    source = catalog_source()
    with paused_gc():
        offers = _match(req, config, source)
    result = OfferList(offers=offers, total=len(offers), catalog_label=source.label)
    if not offers:
        result.empty_reason = _explain_empty(req, config, source)
    return result


class OfferSeq(Sequence):
    """Offers in order, each built from its catalog item when first read.

    A query can match 10^5 catalog rows while a command shows 3 or 50 of them: building every
    Offer up front cost more than the whole query.
    """

    def __init__(
        self, entries: list, configured: frozenset[str], disk_gb: float | None = None
    ) -> None:
        self._entries = entries  # Offer | CatalogRow (catalog_rows), already sorted
        self._configured = configured
        self._disk_gb = disk_gb  # for rows without a fixed disk: the size that would be asked

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return [self._offer_at(i) for i in range(*index.indices(len(self._entries)))]
        if index < 0:
            index += len(self._entries)
        if not 0 <= index < len(self._entries):
            raise IndexError("offer index out of range")
        return self._offer_at(index)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    def __repr__(self) -> str:
        return f"OfferSeq({len(self)} offers)"

    def _offer_at(self, index: int) -> Offer:
        entry = self._entries[index]
        if not isinstance(entry, Offer):
            configured = entry.provider in self._configured
            entry = self._entries[index] = _offer(entry, configured, self._disk_gb)
        return entry


def _match(
    req: Requirements, config: BackendsConfig, source: Any, relax: set[str] = frozenset()
) -> OfferSeq:
    from .catalog import query_catalog
    from .rows import offer_order

    res = req.resources
    filters = _gpuhunt_filters(res, relax)
    spot = {"spot": True, "on-demand": False}.get(req.spot_policy) if "spot" not in relax else None
    if spot is not None:
        filters["spot"] = spot
    max_price = req.max_price if "max_price" not in relax else None
    if max_price is not None:  # dstack: the maximum price per instance per hour
        filters["max_price"] = max_price
    backends = req.backends if "backends" not in relax else None
    providers = [b for b in backends if b != "local"] if backends else None
    items = query_catalog(source, providers, **filters) if providers != [] else []
    disk = getattr(res, "disk", None) if "disk" not in relax else None
    regions = {r.lower() for r in req.regions} if req.regions and "regions" not in relax else None
    types = (
        {t.lower() for t in req.instance_types}
        if req.instance_types and "instance_types" not in relax
        else None
    )
    if regions is not None:
        items = [i for i in items if i.location.lower() in regions]
    if types is not None:
        items = [i for i in items if i.instance_name.lower() in types]
    default_regions = {b.type: set(b.regions) for b in config.backends if b.regions}
    if regions is None and default_regions:
        items = [
            i
            for i in items
            if i.provider not in default_regions or i.location in default_regions[i.provider]
        ]
    if disk is not None and (disk.size.min is not None or disk.size.max is not None):
        items = [i for i in items if i.disk_size is None or _in_range(i.disk_size, disk.size)]
    items.sort(key=offer_order)  # gpuhunt merged the providers by price only
    entries: list = items
    local = _local_offer(req, config, relax)
    if local is not None:
        at = bisect.bisect_left(items, _sort_key(local), key=offer_order)
        entries = [*items[:at], local, *items[at:]]
    disk_min = disk.size.min if disk is not None else None
    return OfferSeq(entries, frozenset(config.configured), disk_min)


def _sort_key(o: Offer) -> tuple:
    return (o.price, -o.gpu_count, -(o.gpu_memory_gb or 0), -o.cpus, -o.memory_gb, o.backend)


def _gpuhunt_filters(res: Any, relax: set[str]) -> dict[str, Any]:
    f: dict[str, Any] = {}
    if "cpu" not in relax:
        if res.cpu.arch:
            f["cpu_arch"] = res.cpu.arch
        f["min_cpu"], f["max_cpu"] = res.cpu.count.min, res.cpu.count.max
    if "memory" not in relax:
        f["min_memory"], f["max_memory"] = res.memory.min, res.memory.max
    gpu = res.gpu
    if "gpu" not in relax:
        if gpu.vendor:
            f["gpu_vendor"] = gpu.vendor
        if gpu.name:
            f["gpu_name"] = list(gpu.name)
        f["min_gpu_count"], f["max_gpu_count"] = gpu.count.min, gpu.count.max
        if gpu.memory:
            f["min_gpu_memory"], f["max_gpu_memory"] = gpu.memory.min, gpu.memory.max
        if gpu.total_memory:
            f["min_total_gpu_memory"] = gpu.total_memory.min
            f["max_total_gpu_memory"] = gpu.total_memory.max
        if gpu.compute_capability:
            f["min_compute_capability"] = gpu.compute_capability
    return {k: v for k, v in f.items() if v is not None}


def _offer(item: Any, configured: bool, disk_gb: float | None = None) -> Offer:
    """An Offer of a catalog row; a row without a fixed disk gets the disk that would be asked."""
    arch = item.cpu_arch
    return Offer(
        backend=item.provider,
        region=item.location,
        instance_type=item.instance_name,
        cpus=item.cpu,
        cpu_arch=arch.value if hasattr(arch, "value") else str(arch),
        memory_gb=item.memory,
        disk_gb=item.disk_size if item.disk_size is not None else disk_gb,
        gpu_vendor=getattr(item.gpu_vendor, "value", None) if item.gpu_count else None,
        gpu_name=item.gpu_name if item.gpu_count else None,
        gpu_count=item.gpu_count,
        gpu_memory_gb=item.gpu_memory if item.gpu_count else None,
        spot=item.spot,
        price=item.price,
        backend_configured=configured,
    )


def _local_offer(req: Requirements, config: BackendsConfig, relax: set[str]) -> Offer | None:
    backends = req.backends if "backends" not in relax else None
    if backends and "local" not in backends:
        return None
    if not config.local_enabled(backends):
        return None
    if req.nodes > 1 and "nodes" not in relax:
        return None
    if req.spot_policy == "spot" and "spot" not in relax:
        return None
    if req.regions and "regions" not in relax and "local" not in req.regions:
        return None
    from ..backends.local.host import detect_host

    host = detect_host()
    gpus = host.gpus
    res = req.resources
    checks = []
    if "cpu" not in relax:
        checks += [
            _in_range(host.cpus, res.cpu.count),
            not res.cpu.arch or res.cpu.arch == host.cpu_arch,
        ]
    if "memory" not in relax:
        checks.append(_in_range(host.memory_gb, res.memory))
    disk = getattr(res, "disk", None)
    if disk is not None and "disk" not in relax:
        checks.append(_in_range(host.disk_gb, disk.size))
    if "gpu" not in relax:
        g = res.gpu
        if g.name:
            names = {n.lower() for n in g.name}
            gpus = [x for x in gpus if x.name.lower() in names]
        if g.vendor:
            gpus = [x for x in gpus if x.vendor == g.vendor]
        if g.memory:
            gpus = [x for x in gpus if _in_range(x.memory_gb, g.memory)]
        checks.append(_in_range(len(gpus), g.count))
        if g.total_memory:
            checks.append(_in_range(sum(x.memory_gb for x in gpus), g.total_memory))
    if not all(checks):
        return None
    first = gpus[0] if gpus else None
    return Offer(
        backend="local",
        region="local",
        instance_type="local",
        cpus=host.cpus,
        cpu_arch=host.cpu_arch,
        memory_gb=round(host.memory_gb, 1),
        disk_gb=round(host.disk_gb, 1),
        gpu_vendor=first.vendor if first else None,
        gpu_name=first.name if first else None,
        gpu_count=len(gpus),
        gpu_memory_gb=first.memory_gb if first else None,
        spot=False,
        price=0.0,
        backend_configured=True,
    )


_RELAX_ORDER = [
    ("max_price", lambda r: r.max_price is not None, lambda r: f"under max_price ${r.max_price:g}"),
    ("spot", lambda r: r.spot_policy != "auto", lambda r: f"with spot_policy {r.spot_policy}"),
    ("regions", lambda r: bool(r.regions), lambda r: f"in regions {', '.join(r.regions)}"),
    (
        "instance_types",
        lambda r: bool(r.instance_types),
        lambda r: f"of instance types {', '.join(r.instance_types)}",
    ),
    ("backends", lambda r: bool(r.backends), lambda r: f"on backends {', '.join(r.backends)}"),
    (
        "disk",
        lambda r: getattr(r.resources, "disk", None) is not None,
        lambda r: "with that disk size",
    ),
    ("memory", lambda r: True, lambda r: "with that memory"),
    ("cpu", lambda r: True, lambda r: "with that CPU count/arch"),
    ("nodes", lambda r: r.nodes > 1, lambda r: f"for {r.nodes} nodes"),
]


def _explain_empty(req: Requirements, config: BackendsConfig, source: Any) -> str:
    what = _describe(req)
    everything = {name for name, _, _ in _RELAX_ORDER} | {"gpu"}
    if not _match(req, config, source, relax=everything):
        return f"no offer in the {source.label}"
    for name, applies, text in _RELAX_ORDER:
        if applies(req) and _match(req, config, source, relax={name}):
            return f"no offer has {what} {text(req)}"
    return f"no offer has {what}"


def _describe(req: Requirements) -> str:
    res = req.resources
    g = res.gpu
    if getattr(res, "wants_gpu", False) or g.count.min:
        count = (
            g.count.min
            if g.count.min == g.count.max or g.count.max is None
            else f"{g.count.min}..{g.count.max}"
        )
        name = "/".join(g.name) if g.name else "GPU"
        mem = f":{_range_text(g.memory)}" if g.memory else ""
        return f"{count} × {name}{mem}"
    return res.pretty() if hasattr(res, "pretty") else "these resources"


def _range_text(r: Any) -> str:
    lo, hi = r.min, r.max
    if lo == hi:
        return f"{lo:g}GB"
    return f"{'' if lo is None else f'{lo:g}GB'}..{'' if hi is None else f'{hi:g}GB'}"


def _in_range(value: float, rng: Any) -> bool:
    if rng is None:
        return True
    return (rng.min is None or value >= rng.min) and (rng.max is None or value <= rng.max)
