"""The reference deployment's files, read as a test needs them: compose.yaml's services, the Dockerfile's commands.

Without a Docker engine the suite runs the same commands as local processes; these helpers take them from the
files themselves, so the processes the tests start are the ones the containers would run.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import ROOT

__all__ = (
    "APP_SERVICES",
    "COMPOSE",
    "DOCKERFILE",
    "compose_client",
    "dockerfile_cmd",
    "interpolate",
    "on_port",
    "services",
    "stages",
    "uv_syncs",
)

COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
APP_SERVICES = ("migrate", "api-1", "api-2", "worker-1", "worker-2")
"""The services that run the image the Dockerfile builds."""
_VARIABLE = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def services() -> dict[str, dict[str, Any]]:
    """compose.yaml's services, with its YAML anchors and merge keys resolved (as compose resolves them)."""
    return dict(yaml.safe_load(COMPOSE.read_text())["services"])


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Substitute compose's ``${NAME}``, ``${NAME:?message}`` and ``${NAME:-default}`` from ``variables``."""
    return _VARIABLE.sub(lambda match: variables[match.group(1)], value)


def on_port(command: list[str], host: str, port: int) -> list[str]:
    """A server command of compose.yaml, listening on ``host`` and ``port`` instead of the container's."""
    local = list(command)
    for flag, value in (("--host", host), ("--port", str(port))):
        local[local.index(flag) + 1] = value
    return local


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile's instructions, continuation lines joined, comments left out."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1]) for line in lines]


def dockerfile_cmd() -> list[str]:
    """The image's default command (the exec form of its last ``CMD``)."""
    return list(json.loads([argument for name, argument in _instructions() if name == "CMD"][-1]))


def uv_syncs() -> list[list[str]]:
    """Every ``uv sync`` the Dockerfile runs, as argument lists (without ``RUN``'s own ``--mount`` options)."""
    runs = [argument for name, argument in _instructions() if name == "RUN" and "uv sync" in argument]
    return [shlex.split(argument[argument.index("uv sync") :]) for argument in runs]


def stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile's build stages, each the list of its instructions from its ``FROM``."""
    found: list[list[tuple[str, str]]] = []
    for name, argument in _instructions():
        if name == "FROM":
            found.append([])
        if found:
            found[-1].append((name, argument))
    return found


def compose_client() -> list[str]:
    """A Compose client that validates files without an engine: ``docker compose`` (v2), else ``docker-compose``.

    ``.ci/run`` installs Debian's ``docker-compose`` where neither is present.
    """
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    pytest.fail("No Compose client: `apt-get install docker-compose` (Debian; .ci/run does), or Docker's plugin")
