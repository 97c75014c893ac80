"""The offers catalog: gpuhunt's CSV format, one `<provider>.csv` per catalog backend.

Source, first found wins: $GPUHUNT_CATALOG_DIR, the catalog downloaded by
`dstack catalog update` ($DSTACK_HOME/catalog), the snapshot embedded in the package.
"""

from __future__ import annotations

import heapq
import os
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Unpack

from ..backends import registry
from ..errors import FleetstackError
from ..paths import catalog_dir
from .rows import CatalogQuery, CatalogRow, match_rows, paused_gc, prepare_rows

# gpuhunt (its download helpers) is imported in update_catalog only: importing it is slow
if TYPE_CHECKING:
    from ..backends.base import Backend

EMBEDDED_DIR = Path(__file__).parent / "data" / "catalog"


@dataclass(frozen=True)
class CatalogSource:
    directory: Path
    kind: str  # "GPUHUNT_CATALOG_DIR" | "downloaded" | "embedded"
    version: str  # snapshot date or downloaded version

    @property
    def label(self) -> str:
        return f"{self.kind} catalog {self.version}".strip()


def catalog_source() -> CatalogSource:
    """Which local catalog directory offers are read from."""
    env_dir = os.environ.get("GPUHUNT_CATALOG_DIR")
    if env_dir:
        return CatalogSource(Path(env_dir), "GPUHUNT_CATALOG_DIR", env_dir)
    downloaded = catalog_dir()
    if any(downloaded.glob("*.csv")):
        return CatalogSource(downloaded, "downloaded", _read_version(downloaded / "version"))
    return CatalogSource(EMBEDDED_DIR, "embedded", _read_version(EMBEDDED_DIR / "SNAPSHOT.txt"))


def providers_in(directory: Path) -> list[str]:
    """The registered backends that have a catalog CSV in `directory`."""
    return [b.name for b in registry.all_backends() if b.catalog_file(directory) is not None]


def query_catalog(
    source: CatalogSource, providers: list[str] | None = None, **filters: Unpack[CatalogQuery]
) -> list[CatalogRow]:
    """Catalog rows matching `filters` (gpuhunt Catalog.query keywords) from `source`, by price.

    Each result is a CatalogRow: a gpuhunt CatalogItem's attributes (`.to_item()` builds one).
    Files are parsed once per process and matched by `match_rows`, as every backend's rows are.
    """
    available = providers_in(source.directory)
    if not available:
        raise no_catalog_error(source)
    wanted = [p for p in available if providers is None or p in providers]
    backends = [registry.get_backend(p) for p in wanted]
    warm_backends(source.directory, backends)
    with paused_gc():
        matched = [match_rows(b.offer_rows(source.directory), filters) for b in backends]
    return list(heapq.merge(*matched, key=attrgetter("price")))


def no_catalog_error(source: CatalogSource) -> FleetstackError:
    """The error of a catalog directory without any provider's CSV."""
    return FleetstackError(
        f"no catalog CSV in {source.directory} ({source.kind}): expected files like "
        f"{registry.catalog_providers()[0]}.csv "
        "in gpuhunt's format; fix GPUHUNT_CATALOG_DIR or run `dstack catalog update`"
    )


def warm_backends(directory: Path, backends: list[Backend]) -> None:
    """Parse the big catalog CSVs of `backends` side by side before they are read."""
    files = [(b.catalog_file(directory), b.name) for b in backends]
    prepare_rows([(path, name) for path, name in files if path is not None])


def update_catalog(target: Path | None = None) -> tuple[Path, list[str]]:
    """Download gpuhunt's live catalog into $DSTACK_HOME/catalog; FleetstackError offline."""
    import io
    import urllib.request
    import zipfile

    from gpuhunt._internal import catalog as gh

    target = target or catalog_dir()
    base = gh._get_base_url()
    tmp = target.with_name(target.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    done: list[str] = []
    versions: list[str] = []
    for provider in gh.OFFLINE_PROVIDERS:
        try:
            version = gh._get_latest_version(base, provider)
            with urllib.request.urlopen(
                f"{base}/{provider}/{version}/catalog.zip", timeout=30
            ) as f:
                data = f.read()
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                (tmp / f"{provider}.csv").write_bytes(z.read(f"{provider}.csv"))
        except Exception as exc:  # noqa: BLE001 - any network failure means "not reachable"
            if not done and provider == gh.OFFLINE_PROVIDERS[0]:
                raise FleetstackError(
                    f"cannot download the catalog from {base} ({type(exc).__name__}): "
                    "check the network; offers keep using the current catalog"
                ) from None
            continue
        done.append(provider)
        versions.append(version)
    if not done:
        raise FleetstackError(f"cannot download the catalog from {base}: no provider answered")
    (tmp / "version").write_text(max(versions) + "\n")
    if target.exists():
        import shutil

        shutil.rmtree(target)
    tmp.rename(target)
    warm_rows(target)
    return target, done


def warm_rows(directory: Path) -> None:
    """Parse every CSV of `directory` now, so the next `dstack offer` reads cached rows."""
    backends = [registry.get_backend(p) for p in providers_in(directory)]
    warm_backends(directory, backends)
    for backend in backends:
        backend.offer_rows(directory)


def _read_version(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""
