"""Configuration of .dstack.yml files: models, loading, profiles, interpolation, schema.

Imports pydantic and PyYAML only, so `dstack validate` starts fast.
"""

from __future__ import annotations

from .common import PortMapping, RetryPolicy, UtilizationPolicy
from .fleet import FleetConfiguration, FleetNodes, SSHConfig, SSHHost
from .loader import (
    CONFIGURATION_TYPES,
    AnyConfiguration,
    LoadedConfiguration,
    apply_overrides,
    load_configuration,
    load_document,
)
from .profiles import Profile, find_profile
from .run import (
    BaseRunConfiguration,
    DevEnvironmentConfiguration,
    TaskConfiguration,
)
from .service import ServiceConfiguration

__all__ = [
    "CONFIGURATION_TYPES",
    "AnyConfiguration",
    "BaseRunConfiguration",
    "DevEnvironmentConfiguration",
    "FleetConfiguration",
    "FleetNodes",
    "LoadedConfiguration",
    "PortMapping",
    "Profile",
    "RetryPolicy",
    "SSHConfig",
    "SSHHost",
    "ServiceConfiguration",
    "TaskConfiguration",
    "UtilizationPolicy",
    "apply_overrides",
    "find_profile",
    "load_configuration",
    "load_document",
]
