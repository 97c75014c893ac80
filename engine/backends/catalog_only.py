"""Clouds whose offers come from gpuhunt's catalog and that cannot be provisioned yet."""

from __future__ import annotations

from .base import CatalogBackend


class LambdaBackend(CatalogBackend):
    name = "lambdalabs"


class RunpodBackend(CatalogBackend):
    name = "runpod"


class OCIBackend(CatalogBackend):
    name = "oci"


class NebiusBackend(CatalogBackend):
    name = "nebius"


class VerdaBackend(CatalogBackend):
    name = "verda"


class CloudriftBackend(CatalogBackend):
    name = "cloudrift"
