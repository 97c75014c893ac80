"""Clouds whose offers come from gpuhunt's catalog and that cannot be provisioned yet.

Such a cloud differs from the others only by its name (gpuhunt's provider name), so a new
one is one more name in NAMES.
"""

from __future__ import annotations

from .base import CatalogBackend

NAMES = ("lambdalabs", "runpod", "oci", "nebius", "verda", "cloudrift")  # registry order


def catalog_only_backends() -> list[CatalogBackend]:
    """One catalog-only backend per name of NAMES, in that order."""
    return [_backend(name) for name in NAMES]


def _backend(provider: str) -> CatalogBackend:
    class CatalogOnlyBackend(CatalogBackend):
        name = provider

    return CatalogOnlyBackend()
