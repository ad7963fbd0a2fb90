"""Postgres and Redis in containers started through testcontainers, when a Docker engine answers.

The optional packages (``docker``, ``testcontainers``) are imported only when a container is asked for.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import logging
import warnings
from collections.abc import Callable, Mapping

from litestar_payguard.testing.servers.postgres_server import MAX_CONNECTIONS
from litestar_payguard.testing.servers.server import Server, Teardown, UnavailableError

__all__ = ("POSTGRES_IMAGE", "REDIS_IMAGE", "docker_available", "docker_postgres", "docker_redis")

logger = logging.getLogger("litestar_payguard.testing")

POSTGRES_IMAGE = "postgres:17-alpine"
REDIS_IMAGE = "redis:7-alpine"


def docker_available() -> bool:
    """Tell whether a Docker engine answers, within about two seconds.

    Returns:
        True when the ``docker`` package is installed and the engine answered a ping.

    """
    try:
        docker = importlib.import_module("docker")
    except ImportError:
        return False
    # A failed connection leaves an unclosed socket behind in docker-py; collect it here, where its
    # ResourceWarning is ignored, rather than later inside a test that treats warnings as errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        client = None
        try:
            client = docker.from_env(timeout=2)
            return bool(client.ping())
        except Exception:  # Any failure means there is no usable engine.
            return False
        finally:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            client = None
            gc.collect()


def _require_docker() -> None:
    if importlib.util.find_spec("testcontainers") is None:
        msg = "testcontainers is not installed"
        raise UnavailableError(msg)
    if not docker_available():
        msg = "no Docker engine answered (docker.from_env(timeout=2).ping() failed)"
        raise UnavailableError(msg)


def docker_postgres(settings: Mapping[str, str]) -> Server:
    """Start a Postgres container with ``settings`` (the ``docker`` strategy)."""
    _require_docker()
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415 - optional dependency.

    command = ["postgres", "-c", f"max_connections={MAX_CONNECTIONS}"]
    for name, value in settings.items():
        command += ["-c", f"{name}={value}"]
    container = PostgresContainer(
        POSTGRES_IMAGE,
        username="postgres",
        password="postgres",  # noqa: S106 - a throwaway container reachable only from this machine.
        dbname="postgres",
        driver=None,
    ).with_command(command)
    container.start()
    try:
        url = container.get_connection_url(driver=None)
    except BaseException:
        container.stop()
        raise
    return Server(url=url, source="docker", stop=Teardown(lambda: _quietly(container.stop)))


def docker_redis() -> Server:
    """Start a Redis container (the ``docker`` strategy)."""
    _require_docker()
    from testcontainers.community.redis import RedisContainer  # noqa: PLC0415 - optional dependency.

    container = RedisContainer(REDIS_IMAGE)
    container.start()
    try:
        url = f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(container.port)}/0"
    except BaseException:
        container.stop()
        raise
    return Server(url=url, source="docker", stop=Teardown(lambda: _quietly(container.stop)))


def _quietly(stop: Callable[[], None]) -> None:
    try:
        stop()
    except Exception:
        logger.exception("could not stop %s", stop)
