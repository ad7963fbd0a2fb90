"""The reference deployment's topology as local processes, since no Docker engine runs here.

compose.yaml's own commands and environment (its secrets given test values): one fresh Postgres database and one
Redis, the migrations applied by the migrate service's command, two API processes and two workers started together.
A mixed workload spread over both API processes (checkout sessions interrupted, resumed and completed; merchant
payments, one sent to both processes at once under one key; refunds) ends with every payment processed exactly once.
The API services' health check passes while workers run and fails once they are gone.

The simulated gateway keeps its books in each worker's memory, out of the test's reach. What shows a charge was
asked for once is payguard's own record: a worker charges a payment only after claiming it (``process_attempts``
counts the claims; a first claim charges, a later one asks the gateway first), and the claim is a row lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import create_async_engine

from litestar_payguard import PayGuardConfig, migrations
from litestar_payguard.testing.servers import Server
from tests.e2e.conftest import BIN, ROOT, free_port, process, wait_for
from tests.e2e.deployment import interpolate, on_port, services
from tests.e2e.deployment_workload import Workload, settled
from tests.support import Store, create_database, drop_database

APIS = ("api-1", "api-2")
WORKERS = ("worker-1", "worker-2")
SECRETS = {
    "POSTGRES_PASSWORD": "unused: the test's own database",
    "PAYGUARD_DEMO_SECRET": "a login token from one API process is good at the other",
    "PAYGUARD_ADMIN_CSRF_SECRET": "csrf-key",
    "PAYGUARD_WEBHOOK_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}
QUICK = {
    "PAYGUARD_SIMULATED_DELAY_SECONDS": "0.05-0.3",
    "PAYGUARD_SIMULATED_REFUND_DELAY_SECONDS": "0.05-0.2",
    "PAYGUARD_RETRY_DELAY_SECONDS": "0.2",
    "PAYGUARD_WORKER_HEARTBEAT_SECONDS": "4",
}
"""The test's only additions to compose's environment: a fast gateway, resume allowed 0.2 s after an interruption,
and heartbeats that a stopped worker's outlives by 4 s rather than a minute."""
READY = f"{PayGuardConfig.path}/ready"


@dataclass
class Topology:
    """compose.yaml's payguard services as local processes, on this machine's Postgres and Redis."""

    logs: Path
    database_url: str
    redis_url: str
    ports: dict[str, int] = field(default_factory=lambda: {name: free_port() for name in APIS})

    def environment(self, service: str) -> dict[str, str]:
        """The service's environment in compose.yaml, with these servers; nothing of the test's own."""
        declared = services()[service]["environment"]
        environment = {name: interpolate(str(value), SECRETS) for name, value in declared.items()}
        environment.update(DATABASE_URL=self.database_url, REDIS_URL=self.redis_url, **QUICK)
        environment["PAYGUARD_DEMO_DATA"] = str(self.logs / "data")  # must stay unused: containers have none
        return {**environment, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}

    def origin(self, api: str) -> str:
        return f"http://127.0.0.1:{self.ports[api]}"

    def migrate(self) -> subprocess.CompletedProcess[str]:
        """The migrate service's one-off command, to its end."""
        command, environment = services()["migrate"]["command"], self.environment("migrate")
        return subprocess.run(
            command, env=environment, cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
        )

    @contextmanager
    def started(self, names: tuple[str, ...]) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
        """The services, all started at once (API processes on free ports instead of the container's 8000)."""
        with ExitStack() as stack:
            running = {}
            for name in names:
                command = services()[name]["command"]
                if name in self.ports:
                    command = on_port(command, "127.0.0.1", self.ports[name])
                log, env = self.logs / f"{name}.log", self.environment(name)
                running[name] = stack.enter_context(process(command, env=env, log=log, inherit_env=False))
            yield running

    def healthcheck(self, api: str) -> int:
        """The API service's compose health check, run against its local process: its exit status."""
        kind, *command = services()[api]["healthcheck"]["test"]
        assert kind == "CMD"
        local = [argument.replace("127.0.0.1:8000/", f"127.0.0.1:{self.ports[api]}/") for argument in command]
        environment = self.environment(api)
        return subprocess.run(local, env=environment, cwd=ROOT, capture_output=True, check=False).returncode

    def wait_until_ready(self, running: dict[str, subprocess.Popen[bytes]]) -> None:
        for api in APIS:
            wait_for(running[api], self.origin(api) + READY, log=self.logs / f"{api}.log", below=300)

    def ready(self) -> list[int]:
        return [httpx.get(self.origin(api) + READY, timeout=5).status_code for api in APIS]

    def failing_checks(self) -> list[set[str]]:
        """The checks of ``/ready`` that fail, on each API process."""
        bodies = [httpx.get(self.origin(api) + READY, timeout=5).json() for api in APIS]
        return [{name for name, check in body["checks"].items() if check["status"] != "ok"} for body in bodies]

    def errors(self) -> list[str]:
        """Lines of the processes' logs that report an error."""
        lines = [line for log in sorted(self.logs.glob("*.log")) for line in log.read_text().splitlines()]
        return [line for line in lines if "Traceback" in line or line.startswith(("ERROR", "CRITICAL"))]

    def healthchecks_failing(self, patience: float = 30) -> list[int]:
        """The API services' health checks once both fail (they are expected to), or as they stand at ``patience``."""
        deadline = time.monotonic() + patience
        while (results := [self.healthcheck(api) for api in APIS]) != [1, 1] and time.monotonic() < deadline:
            time.sleep(0.5)
        return results


def stop(running: dict[str, subprocess.Popen[bytes]], names: tuple[str, ...]) -> dict[str, int]:
    """Stop the services together, as ``docker compose stop`` does (SIGTERM); their exit statuses."""
    for name in names:
        running[name].send_signal(signal.SIGTERM)
    return {name: running[name].wait(timeout=30) for name in names}


async def _fresh_redis(server: Server) -> str:
    """A Redis database of this test's own on the server (no other test's workers or jobs), emptied."""
    url = urlunsplit(urlsplit(server.url)._replace(path="/13"))
    async with Redis.from_url(url) as redis:
        await redis.flushdb()
    return url


async def test_two_api_processes_and_two_workers_process_every_payment_exactly_once(
    tmp_path: Path, postgres_server: Server, redis_server: Server
) -> None:
    url = await create_database(postgres_server.url, "deploy")
    engine = create_async_engine(url)
    store = Store(engine)
    plain_url = urlunsplit(urlsplit(url)._replace(scheme="postgresql"))  # the form compose gives
    topology = Topology(tmp_path, plain_url, await _fresh_redis(redis_server))
    try:
        migrated = topology.migrate()
        assert migrated.returncode == 0, migrated.stderr
        assert f"payguard's schema is at {migrations.head()}" in migrated.stdout
        with topology.started(APIS + WORKERS) as running:
            topology.wait_until_ready(running)
            healthy = [topology.healthcheck(api) for api in APIS]
            workload = Workload([topology.origin(api) for api in APIS])
            await workload.run()
            await settled(store, workload, logs=[tmp_path / f"{name}.log" for name in (*APIS, *WORKERS)])
            ready = topology.ready()
            stopped = stop(running, WORKERS)
            without_workers = topology.healthchecks_failing()
            failing = topology.failing_checks()
            stopped |= stop(running, APIS)
        await workload.check(store)
    finally:
        await engine.dispose()
        await drop_database(postgres_server.url, url)

    assert (healthy, ready) == ([0, 0], [200, 200])
    assert without_workers == [1, 1]
    assert failing == [{"workers"}, {"workers"}]  # no worker heard from
    assert topology.errors() == []
    # Each stopped gracefully; uvicorn then ends by the signal it caught, as Docker expects (exit status 143).
    assert stopped == {**dict.fromkeys(WORKERS, 0), **dict.fromkeys(APIS, -signal.SIGTERM)}
    for api in APIS:
        assert "Application shutdown complete." in (tmp_path / f"{api}.log").read_text()
    assert not (tmp_path / "data").exists()  # nothing written to the working directory's disk
