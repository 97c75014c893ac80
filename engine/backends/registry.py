"""The only list of backends: every other list (`-b`, `backends:`, config.yml `type:`, catalog
files, clouds with a stack program) is derived from it. A new cloud is a module + one line here
(a catalog-only cloud: one name in catalog_only.NAMES).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..config.common import allow_backend_name
from ..errors import FleetstackError
from .aws import AWSBackend
from .azure import AzureBackend
from .base import Backend, Capability
from .catalog_only import catalog_only_backends
from .gcp import GCPBackend
from .local.backend import LocalBackend
from .ssh.backend import SSHBackend

_BACKENDS: dict[str, Backend] = {
    b.name: b
    for b in (
        AWSBackend(),
        GCPBackend(),
        AzureBackend(),
        *catalog_only_backends(),
        LocalBackend(),
        SSHBackend(),
    )
}


def backend_names() -> list[str]:
    """Every registered backend's name, in registration order."""
    return list(_BACKENDS)


def all_backends() -> list[Backend]:
    """Every registered backend, in registration order."""
    return list(_BACKENDS.values())


def get_backend(name: str) -> Backend:
    """The backend called `name`; FleetstackError listing the known ones otherwise."""
    backend = _BACKENDS.get(name)
    if backend is None:
        raise FleetstackError(
            f"unknown backend {name!r}: use one of {', '.join(sorted(_BACKENDS))}"
        )
    return backend


def find_backend(name: str) -> Backend | None:
    """The backend called `name`, or None."""
    return _BACKENDS.get(name)


def backends_with(capability: Capability) -> list[Backend]:
    """The registered backends that support `capability`."""
    return [b for b in _BACKENDS.values() if b.supports(capability)]


def names_with(capability: Capability) -> list[str]:
    """The names of the registered backends that support `capability`."""
    return [b.name for b in backends_with(capability)]


def catalog_providers() -> list[str]:
    """gpuhunt providers whose `<provider>.csv` a catalog directory may hold, by backend."""
    return [b.catalog_provider for b in _BACKENDS.values() if b.catalog_provider]


def register(backend: Backend) -> None:
    """Add `backend` (a FleetstackError if its name is taken)."""
    if backend.name in _BACKENDS:
        raise FleetstackError(f"backend {backend.name!r} is already registered")
    _BACKENDS[backend.name] = backend
    allow_backend_name(backend.name)


def unregister(name: str) -> Backend:
    """Remove the backend called `name` and return it."""
    allow_backend_name(name, allowed=False)
    return _BACKENDS.pop(get_backend(name).name)


@contextmanager
def registered(backend: Backend) -> Iterator[Backend]:
    """`backend` registered for the duration of a `with` block, then removed."""
    register(backend)
    try:
        yield backend
    finally:
        _BACKENDS.pop(backend.name, None)
        allow_backend_name(backend.name, allowed=False)
