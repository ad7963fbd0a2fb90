"""Shared plumbing of the benchmark runners: servers, a database, the app process."""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks import wrk
from litestar_payguard.models import PayGuardModel
from litestar_payguard.testing.servers import FAST_POSTGRES_SETTINGS, Server, find_postgres, find_redis

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
LUA = ROOT / "benchmarks" / "lua"


@dataclass(frozen=True)
class Scenario:
    """One load: a wrk Lua script against one of the app processes."""

    name: str
    label: str
    script: str
    app: str = "main"
    ids: str | None = None
    """Name of the seeded id file the script reads (``BENCH_IDS``)."""
    path: str | None = None
    """The path the script sends its requests to (``BENCH_PATH``), when it takes one."""


def measure(
    scenarios: list[Scenario],
    bases: Mapping[str, str],
    files: Mapping[str, Path],
    *,
    rounds: int,
    seconds: int,
    connections: int,
) -> dict[str, dict[str, object]]:
    """Warm every scenario up, then run them in turn for ``rounds`` rounds; return medians and raw runs."""

    def run(scenario: Scenario, duration: int) -> wrk.Result:
        env = {"BENCH_IDS": str(files[scenario.ids])} if scenario.ids else {}
        if scenario.path:
            env["BENCH_PATH"] = scenario.path
        return wrk.run(
            bases[scenario.app], LUA / scenario.script, connections=connections, seconds=duration, env=env or None
        )

    for scenario in scenarios:
        run(scenario, 2)
    runs: dict[str, list[wrk.Result]] = {scenario.name: [] for scenario in scenarios}
    for round_number in range(rounds):
        for scenario in scenarios:
            result = run(scenario, seconds)
            if result.errors:
                raise SystemExit(f"{scenario.label}: {result.errors} failed requests")
            runs[scenario.name].append(result)
            print(
                f"round {round_number + 1} {scenario.label}: {result.requests_per_second:.0f} req/s, "
                f"p50 {result.p50_ms:.2f} ms, p99 {result.p99_ms:.2f} ms; load average {os.getloadavg()[0]:.1f}"
            )
    return {
        scenario.name: {
            "label": scenario.label,
            "requests_per_second": statistics.median(r.requests_per_second for r in runs[scenario.name]),
            "p50_ms": statistics.median(r.p50_ms for r in runs[scenario.name]),
            "p99_ms": statistics.median(r.p99_ms for r in runs[scenario.name]),
            "runs": [asdict(r) for r in runs[scenario.name]],
        }
        for scenario in scenarios
    }


def report(
    name: str,
    summary: dict[str, dict[str, object]],
    ratios: Mapping[str, tuple[str, str, float | None]],
    settings: Mapping[str, object],
) -> None:
    """Print the table and the ratios (numerator, denominator, target) and keep the raw results.

    A ratio is computed within each round, from scenarios measured minutes apart at most, and the median of the
    rounds is reported: the machine's speed drifts over a run, and a ratio of medians would mix rounds.
    """

    def per_round(top: str, bottom: str) -> list[float]:
        tops, bottoms = summary[top]["runs"], summary[bottom]["runs"]
        return [a["requests_per_second"] / b["requests_per_second"] for a, b in zip(tops, bottoms, strict=True)]  # type: ignore[index,call-overload]

    rounds = {ratio: per_round(top, bottom) for ratio, (top, bottom, _) in ratios.items()}
    computed = {ratio: statistics.median(values) for ratio, values in rounds.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{name}-{int(time.time())}.json"
    payload = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine()}
    payload.update({"settings": dict(settings), "summary": summary, "ratios": computed, "ratios_per_round": rounds})
    out.write_text(json.dumps(payload, indent=2))
    print("\n| endpoint | req/s | p50 ms | p99 ms |\n|---|---:|---:|---:|")
    for entry in summary.values():
        rps, p50, p99 = entry["requests_per_second"], entry["p50_ms"], entry["p99_ms"]
        print(f"| {entry['label']} | {rps:.0f} | {p50:.2f} | {p99:.2f} |")
    print()
    for ratio, (_, _, target) in ratios.items():
        wanted = f" (target >= {target})" if target is not None else ""
        each = ", ".join(f"{value:.2f}" for value in rounds[ratio])
        print(f"{ratio} = {computed[ratio]:.2f}{wanted}  (rounds: {each})")
    print(f"results: {out.relative_to(ROOT)}")


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


def asyncpg_dsn(url: str) -> str:
    """The plain DSN asyncpg takes, from a ``postgresql+asyncpg://`` SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def bench_merchant(connection: Any) -> Any:
    """The id of the benchmarks' merchant (``key_bench``), created on first use."""
    merchant = await connection.fetchval("SELECT id FROM payguard_merchant LIMIT 1")
    if merchant is None:
        merchant = await connection.fetchval(
            "INSERT INTO payguard_merchant (id, name, api_key, test_mode, created_at, updated_at) "
            "VALUES (gen_random_uuid(), 'bench', 'key_bench', true, now(), now()) RETURNING id"
        )
    return merchant


def process_stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # fields from the 3rd (state) on; the name may hold spaces


def process_cpu(pid: int, *, children: bool = False) -> float:
    """CPU seconds of a process (and of its children it has reaped, when ``children``)."""
    fields = process_stat(pid)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")
