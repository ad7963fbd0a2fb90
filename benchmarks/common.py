"""Shared plumbing of the benchmark runners: servers, a database, the app process."""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from litestar_payguard.models import PayGuardModel
from litestar_payguard.testing.servers import FAST_POSTGRES_SETTINGS, Server, find_postgres, find_redis

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def servers(*, fast_postgres: bool) -> Iterator[tuple[Server, Server]]:
    postgres = find_postgres(settings=FAST_POSTGRES_SETTINGS if fast_postgres else None)
    redis = find_redis()
    try:
        yield postgres, redis
    finally:
        redis.stop()
        postgres.stop()


async def create_database(server: Server, *extra_ddl: str) -> str:
    """Create a fresh database with payguard's tables; return its ``postgresql+asyncpg://`` URL."""
    name = f"payguard_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server.url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        version = await admin.fetchval("SHOW server_version")
        fsync = await admin.fetchval("SHOW fsync")
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(server.url)._replace(scheme="postgresql+asyncpg", path=f"/{name}"))
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(PayGuardModel.metadata.create_all)
        for ddl in extra_ddl:
            await connection.exec_driver_sql(ddl)
    await engine.dispose()
    print(f"postgres {version} (fsync={fsync}) from {server.source}; database {name}")
    return url


@contextmanager
def app_process(app: str, env: Mapping[str, str], ready_path: str) -> Iterator[str]:
    """Serve ``module:factory`` with uvicorn (one worker) in its own process; yield its base URL."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + ready_path, timeout=1).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the app did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def machine() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "cpus": str(os.cpu_count()),
        "platform": platform.platform(),
    }
