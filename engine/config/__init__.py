"""Configuration of .dstack.yml files: models, loading, profiles, interpolation, schema.

Imports pydantic and PyYAML only, so `dstack validate` starts fast.
"""

from __future__ import annotations

from fleetstack.engine.config.common import PortMapping, RetryPolicy, UtilizationPolicy
from fleetstack.engine.config.fleet import FleetConfiguration, FleetNodes, SSHConfig, SSHHost
from fleetstack.engine.config.loader import (
    CONFIGURATION_TYPES,
    AnyConfiguration,
    LoadedConfiguration,
    apply_overrides,
    load_configuration,
    load_document,
)
from fleetstack.engine.config.profiles import Profile, find_profile
from fleetstack.engine.config.run import (
    BaseRunConfiguration,
    DevEnvironmentConfiguration,
    ServiceConfiguration,
    TaskConfiguration,
)

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
