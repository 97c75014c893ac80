"""gpuhunt's catalog CSV read fast: light rows, a cheap pre-filter, then gpuhunt's own matching.

gpuhunt's loader (`storage.load`) builds a CatalogItem for every row (enum casts, JSON, a
helper call per field): ~25 µs a row, 5 s for 200,000 rows. Here a file is parsed column by
column into `CatalogRow`s, named tuples with CatalogItem's attribute names (what gpuhunt's
`constraints.matches` reads), once per process. A query's cheap bounds then drop rows in one
list pass per bound, and the rows left go through gpuhunt's own predicate
(`constraints.matches`, with a QueryFilter built as `Catalog.query` builds it), which decides.
Every backend's rows (catalog, this machine, any other) are matched by `match_rows`.
The pre-filter only drops rows that gpuhunt would drop too (same comparisons, same "no GPU
filter on a CPU row when min_gpu_count is 0" rule); tests compare both on the same CSVs.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import json
import marshal
import os
from collections.abc import Callable, Container, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal, NamedTuple, TypedDict, TypeVar

from ..errors import FleetstackError

# gpuhunt is imported inside the functions that need it: importing it is slow
if TYPE_CHECKING:
    from gpuhunt import AcceleratorVendor, CatalogItem, CPUArchitecture
    from gpuhunt._internal.models import QueryFilter

_In = TypeVar("_In")
_Out = TypeVar("_Out")

# gpuhunt's v2 columns, in its order (gpuhunt._internal.storage.CATALOG_V2_FIELDS)
COLUMNS = (
    "instance_name", "location", "price", "cpu", "memory", "gpu_count", "gpu_name",
    "gpu_memory", "spot", "disk_size", "gpu_vendor", "flags", "cpu_arch", "provider_data",
)  # fmt: skip
REQUIRED = ("instance_name", "location", "price", "cpu", "memory", "gpu_count", "spot")


class CatalogRow(NamedTuple):
    """One catalog row with gpuhunt CatalogItem's attribute names and values."""

    provider: str
    instance_name: str
    location: str
    price: float
    cpu: int
    memory: float
    gpu_count: int
    gpu_name: str | None
    gpu_memory: float | None
    spot: bool
    disk_size: float | None
    gpu_vendor: AcceleratorVendor | None
    flags: tuple[str, ...]
    cpu_arch: CPUArchitecture
    provider_data_json: str  # parsed only when a CatalogItem is asked for

    def to_item(self) -> CatalogItem:
        """The gpuhunt CatalogItem of this row."""
        from gpuhunt import CatalogItem

        data = json.loads(self.provider_data_json or "{}")
        return CatalogItem(*self[:12], list(self.flags), self.cpu_arch, data)


class CatalogQuery(TypedDict, total=False):
    """gpuhunt Catalog.query's keywords but `provider` (rows are picked by backend before
    matching), typed as Catalog.query types them; None is no bound, as an absent key."""

    cpu_arch: CPUArchitecture | str | None
    min_cpu: int | None
    max_cpu: int | None
    min_memory: float | None
    max_memory: float | None
    min_gpu_count: int | None
    max_gpu_count: int | None
    gpu_vendor: AcceleratorVendor | str | None
    gpu_name: str | list[str] | None
    min_gpu_memory: float | None
    max_gpu_memory: float | None
    min_total_gpu_memory: float | None
    max_total_gpu_memory: float | None
    min_disk_size: int | None
    max_disk_size: int | None
    min_price: float | None
    max_price: float | None
    min_compute_capability: str | tuple[int, int] | None
    max_compute_capability: str | tuple[int, int] | None
    spot: bool | None
    allowed_flags: Container[str] | None


_QUERY_KEYS = frozenset(CatalogQuery.__annotations__)
# positions in a CatalogRow, for the list passes of the pre-filter (Final: a type checker
# then knows the field type of `row[PRICE]`)
PRICE: Final = 3
CPU: Final = 4
MEMORY: Final = 5
GPU_COUNT: Final = 6
GPU_NAME: Final = 7
GPU_MEMORY: Final = 8
SPOT: Final = 9
VENDOR: Final = 11
ARCH: Final = 13
_NumberColumn = Literal[3, 4, 5]  # PRICE, CPU or MEMORY: the columns `between` bounds
_new_row = partial(tuple.__new__, CatalogRow)
_cache: dict[tuple, list[CatalogRow]] = {}
_FORMAT = 5  # of the disk cache: bump when CatalogRow or the parsing rules change
_DISK_CACHE_MIN_BYTES = 1 << 20  # smaller files parse faster than a cache round trip


def read_rows(path: Path, provider: str) -> list[CatalogRow]:
    """Every well-formed row of a gpuhunt catalog CSV, parsed once per file version.

    Rows gpuhunt would skip as malformed (empty required field, bad number or boolean, unknown
    vendor or arch, provider_data that is not JSON) are skipped here too. Parsed rows are kept
    in memory and, for big files, in $DSTACK_HOME/cache (loading them back is ~10× faster than
    parsing the CSV again); a changed file (mtime, size) is parsed again.
    """
    stat = path.stat()
    version = (stat.st_mtime_ns, stat.st_size, provider, _FORMAT)
    key = (str(path.resolve()), *version)
    rows = _cache.get(key)
    if rows is not None:
        return rows
    with paused_gc():
        big = stat.st_size >= _DISK_CACHE_MIN_BYTES
        cache_file = _cache_file(key[0], version) if big else None
        columns = _load_columns(cache_file, version) if cache_file else None
        if columns is None:
            rows = _parse_sorted(path, provider, cache_file, version)
        else:
            rows = list(map(_new_row, zip(*columns, strict=True)))
    for old in [k for k in _cache if k[0] == key[0]]:
        del _cache[old]  # a changed file replaces its old rows
    _cache[key] = rows
    return rows


def prepare_rows(files: list[tuple[Path, str]]) -> None:
    """Parse the big, not yet cached CSVs of `files` side by side, one child process each.

    Only where fork exists and there are 2+ CPUs; the children fill the disk cache that
    read_rows then loads. A failure of any kind (a bad CSV, a cache that cannot be written)
    leaves the file to read_rows, which parses it itself and reports what is wrong.
    """
    if not hasattr(os, "fork") or (os.cpu_count() or 1) < 2:
        return
    todo = []
    for path, provider in files:
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size, provider, _FORMAT)
        resolved = str(path.resolve())
        if stat.st_size < _DISK_CACHE_MIN_BYTES or (resolved, *version) in _cache:
            continue
        cache_file = _cache_file(resolved, version)
        if not cache_file.exists():
            todo.append((path, provider, cache_file, version))
    if len(todo) < 2:
        return
    children = []
    for path, provider, cache_file, version in todo:
        pid = os.fork()
        if pid == 0:  # the child: parse, write the cache, leave without any cleanup of ours
            code = 1
            try:
                with paused_gc():
                    _parse_sorted(path, provider, cache_file, version)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    for pid in children:
        os.waitpid(pid, 0)


def match_rows(rows: list[CatalogRow], filters: CatalogQuery) -> list[CatalogRow]:
    """The rows gpuhunt's Catalog.query(**filters) would return, in their order."""
    from gpuhunt._internal.constraints import matches

    query = query_filter(filters)
    return [row for row in prefilter(rows, filters) if matches(row, query)]


def query_filter(filters: CatalogQuery) -> QueryFilter:
    """gpuhunt's QueryFilter of Catalog.query keywords, cast as Catalog.query casts them."""
    from gpuhunt import AcceleratorVendor, CPUArchitecture
    from gpuhunt._internal.models import QueryFilter
    from gpuhunt._internal.utils import parse_compute_capability

    unknown = set(filters) - _QUERY_KEYS
    if unknown:
        raise TypeError(f"unknown catalog filter {sorted(unknown)[0]!r}")
    names = filters.get("gpu_name")
    casts = {
        "cpu_arch": CPUArchitecture.cast(filters["cpu_arch"]) if filters.get("cpu_arch") else None,
        "gpu_vendor": (
            AcceleratorVendor.cast(filters["gpu_vendor"]) if filters.get("gpu_vendor") else None
        ),
        "gpu_name": [names] if isinstance(names, str) else names,
        "min_compute_capability": parse_compute_capability(filters.get("min_compute_capability")),
        "max_compute_capability": parse_compute_capability(filters.get("max_compute_capability")),
    }
    return QueryFilter(provider=None, **{**filters, **casts})


def prefilter(rows: list[CatalogRow], filters: CatalogQuery) -> list[CatalogRow]:
    """Rows that may match gpuhunt's Catalog.query(**filters); every dropped row fails it."""
    from gpuhunt import AcceleratorVendor, CPUArchitecture

    def between(index: _NumberColumn, lo: float | None, hi: float | None) -> None:
        nonlocal rows
        if lo is not None:
            rows = [r for r in rows if r[index] >= lo]
        if hi is not None:
            rows = [r for r in rows if r[index] <= hi]

    between(PRICE, filters.get("min_price"), filters.get("max_price"))
    spot = filters.get("spot")
    if spot is not None:
        rows = [r for r in rows if r[SPOT] == spot]
    if filters.get("cpu_arch"):
        arch = CPUArchitecture.cast(filters["cpu_arch"])
        rows = [r for r in rows if r[ARCH] == arch]
    between(CPU, filters.get("min_cpu"), filters.get("max_cpu"))
    between(MEMORY, filters.get("min_memory"), filters.get("max_memory"))

    # gpuhunt applies no GPU filter to a row without GPUs when min_gpu_count is 0
    exempt = filters.get("min_gpu_count") == 0

    def gpu_rule(keep: Callable[[CatalogRow], bool]) -> None:
        nonlocal rows
        rows = [r for r in rows if (exempt and r[GPU_COUNT] == 0) or keep(r)]

    if filters.get("gpu_vendor"):
        vendor = AcceleratorVendor.cast(filters["gpu_vendor"])
        gpu_rule(lambda r: r[VENDOR] == vendor)
    min_count, max_count = filters.get("min_gpu_count"), filters.get("max_gpu_count")
    if min_count is not None:
        gpu_rule(lambda r: r[GPU_COUNT] >= min_count)
    if max_count is not None:
        gpu_rule(lambda r: r[GPU_COUNT] <= max_count)
    names = filters.get("gpu_name")
    if names is not None:
        wanted = {n.lower() for n in ([names] if isinstance(names, str) else names)}
        gpu_rule(lambda r: r[GPU_NAME] is not None and r[GPU_NAME].lower() in wanted)
    min_memory, max_memory = filters.get("min_gpu_memory"), filters.get("max_gpu_memory")
    if min_memory is not None:
        gpu_rule(lambda r: _gpu_memory(r) >= min_memory)
    if max_memory is not None:
        gpu_rule(lambda r: _gpu_memory(r) <= max_memory)
    return rows


def offer_order(r: CatalogRow) -> tuple[float, int, float, int, float, str]:
    """Cheapest first; for one price more GPUs, GPU memory, CPUs, memory first; then backend."""
    return (r.price, -r.gpu_count, -(r.gpu_memory or 0), -r.cpu, -r.memory, r.provider)


@contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic GC while building 10^5 objects: each collection would rescan all of them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _gpu_memory(r: CatalogRow) -> float:
    # the figure gpuhunt compares: 0 for a row without GPUs or without a GPU memory value
    return r.gpu_memory if r.gpu_count > 0 and r.gpu_memory is not None else 0


def _parse_sorted(
    path: Path, provider: str, cache_file: Path | None, version: tuple
) -> list[CatalogRow]:
    rows = _parse(path, provider)
    # by price already (the cache keeps it): sorting the matches is then ~linear
    rows.sort(key=itemgetter(PRICE))
    if cache_file:
        _save_columns(cache_file, version, rows)
    return rows


def _parse(path: Path, provider: str) -> list[CatalogRow]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return []
        positions = {name.strip(): i for i, name in enumerate(header)}
        missing = [c for c in REQUIRED if c not in positions]
        if missing:
            raise FleetstackError(
                f"{path}: not a gpuhunt catalog CSV (no column {missing[0]}); expected the "
                f"columns {','.join(COLUMNS)}; regenerate it or unset GPUHUNT_CATALOG_DIR"
            )
        raw = [r for r in reader if r]
    order = [positions.get(c) for c in COLUMNS]
    width = len(COLUMNS)
    if order != list(range(width)) or set(map(len, raw)) - {width}:
        raw = [[r[i] if i is not None and i < len(r) else "" for i in order] for r in raw]
    if not raw:
        return []
    try:
        return _by_columns(raw, provider)
    except ValueError:  # some row is malformed: find which, row by row, and skip those
        return [row for row in (_by_row(r, provider) for r in raw) if row is not None]


def _by_columns(raw: list[list[str]], provider: str) -> list[CatalogRow]:
    """All rows at once, column by column; ValueError when any row is malformed or unusual."""
    from gpuhunt import AcceleratorVendor

    (names, locations, prices, cpus, memories, counts, gpu_names, gpu_memories, spots, disks,
     vendors, flags, arches, data) = zip(*raw, strict=True)  # fmt: skip
    if "" in names or "" in locations:
        raise ValueError("empty required field")
    if any(n.startswith("tpu-") for n in set(gpu_names)):
        raise ValueError("legacy TPU names: read row by row")
    if not all(_is_json(d) for d in set(data)):
        raise ValueError("provider_data that is not JSON")
    gpu_counts = list(map(int, counts))
    vendor_of = {v: _vendor(v) for v in set(vendors)}
    vendor_col = list(map(vendor_of.__getitem__, vendors))
    if None in vendor_of.values():  # catalogs older than the gpu_vendor column: NVIDIA implied
        nvidia = AcceleratorVendor.NVIDIA
        vendor_col = [
            v if v is not None or not c else nvidia
            for v, c in zip(vendor_col, gpu_counts, strict=True)
        ]
    return list(
        map(
            _new_row,
            zip(
                repeat(provider),
                _mapped(names, _same),  # one object per distinct value: less memory, and
                _mapped(locations, _same),  # the disk cache stores each value once
                map(float, prices),
                map(int, cpus),
                map(float, memories),
                gpu_counts,
                _mapped(gpu_names, lambda v: v or None),
                _mapped(gpu_memories, _optional_float),
                _mapped(spots, _bool),
                _mapped(disks, _optional_float),
                vendor_col,
                _mapped(flags, lambda v: tuple(v.split())),
                _mapped(arches, _arch),
                _mapped(data, _same),
            ),
        )
    )


def _by_row(r: list[str], provider: str) -> CatalogRow | None:
    """One row as gpuhunt's storage.item_from_row reads it, or None where gpuhunt skips it."""
    from gpuhunt import AcceleratorVendor

    (
        name,
        location,
        price,
        cpu,
        memory,
        count,
        gpu_name,
        gpu_mem,
        spot,
        disk,
        vendor,
        flags,
        arch,
        data,
    ) = r  # noqa: E501
    try:
        if not name or not location:
            raise ValueError("empty required field")
        if not _is_json(data):
            raise ValueError("provider_data is not JSON")
        gpu_count = int(count)
        gpu_vendor = _vendor(vendor)
        short_name = gpu_name or None
        if short_name and short_name.startswith("tpu-"):  # before gpu_vendor: a Google TPU
            short_name = short_name[4:]
            gpu_vendor = gpu_vendor or AcceleratorVendor.GOOGLE
        elif gpu_vendor is None and gpu_count:
            gpu_vendor = AcceleratorVendor.NVIDIA
        return _new_row(
            (provider, name, location, float(price), int(cpu), float(memory), gpu_count, short_name,
             _optional_float(gpu_mem), _bool(spot), _optional_float(disk), gpu_vendor,
             tuple(flags.split()), _arch(arch), data)
        )  # fmt: skip
    except ValueError:
        return None


def _cache_file(resolved: str, version: tuple) -> Path:
    """$DSTACK_HOME/cache/catalog/<name>-<path digest>-<version digest>.marshal"""
    from ..paths import cache_dir

    of_path = hashlib.sha1(resolved.encode()).hexdigest()[:16]
    of_version = hashlib.sha1(repr(version).encode()).hexdigest()[:12]
    return cache_dir() / "catalog" / f"{Path(resolved).stem}-{of_path}-{of_version}.marshal"


def _load_columns(cache_file: Path, version: tuple) -> list | None:
    """The cached columns of a CSV version (enums restored), or None if absent or stale."""
    from gpuhunt import AcceleratorVendor, CPUArchitecture

    try:
        saved_version, columns = marshal.loads(cache_file.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if tuple(saved_version) != version or len(columns) != len(CatalogRow._fields):
        return None
    columns[VENDOR] = _mapped(columns[VENDOR], lambda v: v and AcceleratorVendor(v))
    columns[ARCH] = _mapped(columns[ARCH], CPUArchitecture)
    return columns


def _save_columns(cache_file: Path, version: tuple, rows: list[CatalogRow]) -> None:
    """Best effort: a cache that cannot be written only costs the next parse."""
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    columns[VENDOR] = tuple(_mapped(columns[VENDOR], lambda v: v and v.value))
    columns[ARCH] = tuple(_mapped(columns[ARCH], lambda v: v.value))
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_name(f"{cache_file.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps((version, columns)))
        os.replace(tmp, cache_file)
        same_csv = cache_file.name.rsplit("-", 1)[0]
        for old in cache_file.parent.glob(f"{same_csv}-*.marshal"):
            if old != cache_file:
                old.unlink(missing_ok=True)  # an older version of the same CSV
    except (OSError, ValueError):
        pass


def _mapped(column: Sequence[_In], convert: Callable[[_In], _Out]) -> Iterator[_Out]:
    # catalog columns repeat a few values: convert each distinct value once
    table = {v: convert(v) for v in set(column)}
    return map(table.__getitem__, column)


def _same(value: str) -> str:
    return value


def _optional_float(value: str) -> float | None:
    return float(value) if value else None


def _bool(value: str) -> bool:
    text = value.lower()
    if text not in ("true", "false"):
        raise ValueError(f"not a boolean: {value!r}")
    return text == "true"


def _vendor(value: str) -> AcceleratorVendor | None:
    from gpuhunt import AcceleratorVendor

    return AcceleratorVendor.cast(value) if value else None


def _arch(value: str) -> CPUArchitecture:
    from gpuhunt import CPUArchitecture

    return CPUArchitecture.cast(value) if value else CPUArchitecture.X86


def _is_json(value: str) -> bool:
    if not value or value == "{}":
        return True
    try:
        json.loads(value)
    except ValueError:
        return False
    return True
