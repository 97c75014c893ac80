"""The offers catalog: gpuhunt's CSV format, read through gpuhunt's own filter.

Source, first found wins: $GPUHUNT_CATALOG_DIR, the catalog downloaded by
`dstack catalog update` ($DSTACK_HOME/catalog), the snapshot embedded in the package.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import FleetstackError
from ..paths import catalog_dir

EMBEDDED_DIR = Path(__file__).parent / "data" / "catalog"
PROVIDERS = ("aws", "gcp", "azure", "lambdalabs", "runpod", "oci", "nebius", "verda", "cloudrift")


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
    """The gpuhunt providers that have a CSV file in `directory`."""
    return [p for p in PROVIDERS if (directory / f"{p}.csv").is_file()]


def query_catalog(
    source: CatalogSource, providers: list[str] | None = None, **filters: Any
) -> list:
    """Catalog rows matching `filters` (gpuhunt Catalog.query keywords) from `source`.

    Each result is a CatalogRow: a gpuhunt CatalogItem's attributes (`.to_item()` builds one).
    Files are parsed once per process, cut down by the query's cheap bounds, and gpuhunt's own
    Catalog.query matches what is left.
    """
    import gpuhunt
    from gpuhunt._internal.catalog import ProviderCatalog

    from .rows import paused_gc, prefilter, prepare_rows, read_rows

    available = providers_in(source.directory)
    wanted = [p for p in available if providers is None or p in providers]
    if not available:
        raise FleetstackError(
            f"no catalog CSV in {source.directory} ({source.kind}): expected files like aws.csv "
            "in gpuhunt's format; fix GPUHUNT_CATALOG_DIR or run `dstack catalog update`"
        )
    if not wanted:
        return []
    catalog = gpuhunt.Catalog(balance_resources=False, auto_reload=False)
    prepare_rows([(source.directory / f"{p}.csv", p) for p in wanted])
    with paused_gc():
        for provider in wanted:
            rows = read_rows(source.directory / f"{provider}.csv", provider)
            catalog.catalog[provider] = ProviderCatalog(version="", items=prefilter(rows, filters))
        catalog.loaded_at = 0.0
        # gpuhunt matches the rows in memory; with the env var set it would re-read the CSVs
        with _env("GPUHUNT_CATALOG_DIR", None):
            return catalog.query(provider=wanted, **filters)


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
    done, versions = [], []
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
    from .rows import prepare_rows, read_rows

    providers = providers_in(directory)
    prepare_rows([(directory / f"{p}.csv", p) for p in providers])
    for provider in providers:
        read_rows(directory / f"{provider}.csv", provider)


def _read_version(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


@contextmanager
def _env(name: str, value: str | None) -> Iterator[None]:
    old = os.environ.get(name)
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old
