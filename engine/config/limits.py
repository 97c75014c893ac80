"""What `apply` could not run, refused when the configuration is validated: NUL bytes, env
values over the kernel's limit on one argument or environment string, ports given twice or
reserved on an instance.

`check_limits` runs on every validated run configuration (validate, plan, submit), so
`dstack validate` says OK only when the job can start.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from .common import PortMapping
from .fleet import FleetConfiguration
from .run import DevEnvironmentConfiguration, TaskConfiguration
from .service import ServiceConfiguration
from .yamlfile import YamlDocument, YamlPath, format_path

# Linux's MAX_ARG_STRLEN (32 pages): one "NAME=VALUE" string of the environment, NUL included.
MAX_ENV_STRING_BYTES = 131072
# All of the job's "NAME=VALUE" strings together: half of the usual 2 MB ARG_MAX, so the
# inherited PATH/HOME and the command line still fit.
MAX_ENV_TOTAL_BYTES = 1024 * 1024
# Ports a job cannot publish: an instance's sshd listens on 22 (fleetstack reaches it there).
RESERVED_PORTS = {22: "the instance's SSH server listens on it"}


def check_limits(configuration: object, doc: YamlDocument) -> None:
    """Raise ConfigurationError (file, YAML path, line, fix) for the first value `apply`
    could not run; fleets and configurations without env or ports pass."""
    if isinstance(configuration, FleetConfiguration):
        return
    if not isinstance(
        configuration, TaskConfiguration | ServiceConfiguration | DevEnvironmentConfiguration
    ):
        return
    _check_env(configuration.env or {}, doc)
    for index, command in enumerate(configuration.commands):
        if "\x00" in command:
            raise _error(doc, ("commands", index), "contains a NUL byte, which no shell can run")
    _check_ports(configuration, doc)


def _check_env(env: dict[str, str | None], doc: YamlDocument) -> None:
    total = 0
    for name, value in env.items():
        if value is None:  # `- NAME`: checked once it is resolved at submit
            continue
        path: YamlPath = ("env", name)
        if "\x00" in value:
            raise _error(doc, path, "contains a NUL byte, which no environment variable can hold")
        size = len(name.encode()) + 1 + len(value.encode()) + 1
        if size > MAX_ENV_STRING_BYTES:
            raise _error(
                doc,
                path,
                f"is {size} bytes; the kernel passes at most {MAX_ENV_STRING_BYTES} bytes per "
                "variable (MAX_ARG_STRLEN): put the data in a file of the project and pass its "
                "path",
            )
        total += size
        if total > MAX_ENV_TOTAL_BYTES:
            raise _error(
                doc,
                path,
                f"the env values add up to over {MAX_ENV_TOTAL_BYTES} bytes, more than a job's "
                "environment can carry: put the data in files of the project",
            )


def _check_ports(
    configuration: TaskConfiguration | ServiceConfiguration | DevEnvironmentConfiguration,
    doc: YamlDocument,
) -> None:
    mappings: list[tuple[YamlPath, PortMapping]]
    if isinstance(configuration, ServiceConfiguration):
        mappings = [(("port",), configuration.port)]
    else:
        mappings = [(("ports", i), port) for i, port in enumerate(configuration.ports)]
    seen_container: dict[int, YamlPath] = {}
    seen_local: dict[int, YamlPath] = {}
    for path, mapping in mappings:
        container = mapping.container_port
        local = mapping.local_port
        for port in dict.fromkeys((container, local)):
            if port in RESERVED_PORTS:
                raise _error(
                    doc,
                    path,
                    f"port {port} is reserved: {RESERVED_PORTS[port]}; use another port",
                )
        if container in seen_container:
            raise _error(
                doc,
                path,
                f"container port {container} is already given at "
                f"{format_path(seen_container[container])}: give each port once",
            )
        seen_container[container] = path
        if local is not None and local in seen_local:
            raise _error(
                doc,
                path,
                f"local port {local} is already given at {format_path(seen_local[local])}: "
                "two ports cannot be published on the same local port",
            )
        if local is not None:
            seen_local[local] = path


def _error(doc: YamlDocument, path: YamlPath, message: str) -> ConfigurationError:
    return ConfigurationError(
        message, file=doc.file, path=format_path(path), line=doc.line_of(path)
    )
