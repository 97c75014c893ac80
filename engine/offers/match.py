"""Offers: every backend's rows (catalog CSVs, this machine, ...) through one matcher.

Each registered backend that takes part supplies its rows; all of them go through the same
prefilter and gpuhunt predicate (`rows.match_rows`), then the same region, instance type and
disk rules. Matching writes nothing (only rows.py's parsed-rows cache is written, atomically):
a crash leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, overload

from ..backends import registry
from ..backends.base import Backend, Capability
from ..backends.config import BackendsConfig, load_backends_config
from ..errors import FleetstackError
from ..models.offers import Offer, OfferList, Requirements, provisioned_disk_gb
from .catalog import CatalogSource, catalog_source, no_catalog_error, providers_in, warm_backends
from .rows import CatalogQuery, CatalogRow, match_rows, offer_order, paused_gc

if TYPE_CHECKING:
    from ..models.resources import IntRange, ResourcesSpec, SizeRange

Relaxed = Collection[str]  # names of constraints left out (the empty-offers explanation)
# gpuhunt's `spot` filter of a spot policy; "auto" (and None) filter nothing
_SPOT_FILTER: dict[str | None, bool] = {"spot": True, "on-demand": False}


def known_backends() -> list[str]:
    """Backends an offer can come from: every registered backend."""
    return sorted(registry.backend_names())


def check_backends(backends: list[str] | None, where: str) -> None:
    """FleetstackError naming `where` (e.g. "-b" or "FILE: backends") for an unknown backend."""
    known = known_backends()
    for backend in backends or []:
        if backend not in known:
            raise FleetstackError(
                f"{where} {backend}: unknown backend; use one of {', '.join(known)}"
            )


def find_offers(req: Requirements, *, config: BackendsConfig | None = None) -> OfferList:
    """Every matching offer, cheapest first (then more generous first); why none, if none."""
    config = config if config is not None else load_backends_config()
    source = catalog_source()
    with paused_gc():
        offers = _match(req, config, source)
    result = OfferList(offers=offers, total=len(offers), catalog_label=source.label)
    if not offers:
        result.empty_reason = _explain_empty(req, config, source)
    return result


class OfferSeq(Sequence[Offer]):
    """Offers in order, each built from its catalog item when first read.

    A query can match 10^5 catalog rows while a command shows 3 or 50 of them: building every
    Offer up front cost more than the whole query.
    """

    def __init__(
        self, entries: list[CatalogRow], configured: frozenset[str], disk_gb: float | None = None
    ) -> None:
        self._entries: list[CatalogRow | Offer] = list(entries)  # sorted; Offers once read
        self._configured = configured
        self._disk_gb = disk_gb  # for rows without a fixed disk: the size that would be asked

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, index: int) -> Offer: ...

    @overload
    def __getitem__(self, index: slice) -> list[Offer]: ...

    def __getitem__(self, index: int | slice) -> Offer | list[Offer]:
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
        if isinstance(entry, Offer):
            return entry
        backend = registry.get_backend(entry.provider)
        offer = backend.to_offer(entry, entry.provider in self._configured, self._disk_gb)
        self._entries[index] = offer
        return offer


def _match(
    req: Requirements, config: BackendsConfig, source: CatalogSource, relax: Relaxed = frozenset()
) -> OfferSeq:
    res: ResourcesSpec = req.resources
    filters = _gpuhunt_filters(res, relax)
    spot = _SPOT_FILTER.get(req.spot_policy) if "spot" not in relax else None
    if spot is not None:
        filters["spot"] = spot
    max_price = req.max_price if "max_price" not in relax else None
    if max_price is not None:  # dstack: the maximum price per instance per hour
        filters["max_price"] = max_price
    backends = _offering_backends(req, config, source, relax)
    warm_backends(source.directory, backends)
    items: list[CatalogRow] = []
    for backend in backends:
        items += match_rows(backend.offer_rows(source.directory), filters)
    disk = res.disk if "disk" not in relax else None
    regions = {r.lower() for r in req.regions} if req.regions and "regions" not in relax else None
    types = (
        {t.lower() for t in req.instance_types}
        if req.instance_types and "instance_types" not in relax
        else None
    )
    if regions is not None:
        items = [i for i in items if i.location.lower() in regions]
    if types is not None:
        items = [i for i in items if i.instance_name.lower() in types or _any_type(i)]
    default_regions = {b.type: set(b.regions) for b in config.backends if b.regions}
    if regions is None and default_regions:
        items = [
            i
            for i in items
            if i.provider not in default_regions or i.location in default_regions[i.provider]
        ]
    if disk is not None and (disk.size.min is not None or disk.size.max is not None):
        items = [i for i in items if i.disk_size is None or _in_range(i.disk_size, disk.size)]
    items.sort(key=offer_order)  # rows come backend by backend
    # a row without a fixed disk (a cloud volume) shows the volume its stack would create
    disk_min = provisioned_disk_gb(disk.size.min if disk is not None else None)
    return OfferSeq(items, frozenset(config.configured), disk_min)


def _offering_backends(
    req: Requirements, config: BackendsConfig, source: CatalogSource, relax: Relaxed
) -> list[Backend]:
    """The backends whose rows are matched; the catalog must exist if one of them reads it."""
    requested = req.backends if "backends" not in relax else None
    multinode = req.nodes > 1 and "nodes" not in relax
    chosen = [
        b
        for b in registry.all_backends()
        if (not requested or b.name in requested)
        and b.offers_enabled(config, requested)
        and (not multinode or b.supports(Capability.MULTINODE))
    ]
    if any(b.catalog_provider for b in chosen) and not providers_in(source.directory):
        raise no_catalog_error(source)
    return chosen


def _any_type(row: CatalogRow) -> bool:
    # a backend with one fixed machine (local) is not filtered by instance type
    return not registry.get_backend(row.provider).has_instance_types


def _gpuhunt_filters(res: ResourcesSpec, relax: Relaxed) -> CatalogQuery:
    f: CatalogQuery = {}
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
    return f  # a None bound filters nothing, as an absent one


_RELAX_ORDER: list[tuple[str, Callable[[Requirements], bool], Callable[[Requirements], str]]] = [
    ("max_price", lambda r: r.max_price is not None, lambda r: f"under max_price ${r.max_price:g}"),
    ("spot", lambda r: r.spot_policy != "auto", lambda r: f"with spot_policy {r.spot_policy}"),
    ("regions", lambda r: bool(r.regions), lambda r: f"in regions {', '.join(r.regions or [])}"),
    (
        "instance_types",
        lambda r: bool(r.instance_types),
        lambda r: f"of instance types {', '.join(r.instance_types or [])}",
    ),
    ("nodes", lambda r: r.nodes > 1, lambda r: _nodes_text(r)),  # before backends: more exact
    (
        "backends",
        lambda r: bool(r.backends),
        lambda r: f"on backends {', '.join(r.backends or [])}",
    ),
    (
        "disk",
        lambda r: r.resources.disk is not None,
        lambda r: "with that disk size",
    ),
    ("memory", lambda r: True, lambda r: "with that memory"),
    ("cpu", lambda r: True, lambda r: "with that CPU count/arch"),
]


def _nodes_text(req: Requirements) -> str:
    """`for N nodes`, and why each single-node backend asked for cannot (the fix: nodes: 1)."""
    single = [
        b
        for b in registry.all_backends()
        if req.backends and b.name in req.backends and not b.supports(Capability.MULTINODE)
    ]
    why = "; ".join(f"{b.name}: {b.reason(Capability.MULTINODE)}" for b in single)
    return (
        f"for {req.nodes} nodes ({why}: set nodes: 1 to run there)"
        if why
        else (f"for {req.nodes} nodes")
    )


def _explain_empty(req: Requirements, config: BackendsConfig, source: CatalogSource) -> str:
    what = _describe(req)
    everything = {name for name, _, _ in _RELAX_ORDER} | {"gpu"}
    if not _match(req, config, source, relax=everything):
        return f"no offer in the {source.label}"
    for name, applies, text in _RELAX_ORDER:
        if applies(req) and _match(req, config, source, relax={name}):
            return f"no offer has {what} {text(req)}"
    return f"no offer has {what}"


def _describe(req: Requirements) -> str:
    res: ResourcesSpec = req.resources
    g = res.gpu
    if res.wants_gpu or g.count.min:
        count = (
            g.count.min
            if g.count.min == g.count.max or g.count.max is None
            else f"{g.count.min}..{g.count.max}"
        )
        name = "/".join(g.name) if g.name else "GPU"
        mem = f":{_range_text(g.memory)}" if g.memory else ""
        return f"{count} × {name}{mem}"
    return res.pretty()


def _range_text(r: SizeRange) -> str:
    lo, hi = r.min, r.max
    if lo == hi:
        return f"{lo:g}GB"
    return f"{'' if lo is None else f'{lo:g}GB'}..{'' if hi is None else f'{hi:g}GB'}"


def _in_range(value: float, rng: IntRange | SizeRange | None) -> bool:
    if rng is None:
        return True
    return (rng.min is None or value >= rng.min) and (rng.max is None or value <= rng.max)
