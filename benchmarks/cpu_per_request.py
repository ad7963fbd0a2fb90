"""CPU time per request, in process: where the session endpoints spend their time.

    ./scripts/uv run --group dev python -m benchmarks.cpu_per_request [--requests 500]

Calls the benchmark app directly through ASGI (no HTTP server, no client) on real Postgres and Redis, one
request at a time, and reports the process CPU time per request of each endpoint next to its baselines (for a
creation: the hand-written ``POST /bare/sessions`` doing the same work, and the one-INSERT ``POST /bare/rows``).
The server process is CPU-bound under load (see docs/benchmarks.md), so this is the figure that throughput
follows; it is steadier than a load test on a shared machine. Best of three rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import time
from typing import Any

from benchmarks.app import BARE_TABLE
from benchmarks.common import create_database, servers
from tests.support import dispose_engine, running

CREATE_BODY = b'{"bundleId":"bundle-1","amount":4900,"currency":"USD"}'


async def call(app: Any, method: str, path: str, headers: list[tuple[bytes, bytes]], body: bytes) -> tuple[int, bytes]:
    """One ASGI request; return its status and body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    delivered = False
    status, chunks = 0, []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def measure(requests: int, database_url: str) -> dict[str, float]:
    os.environ["BENCH_DATABASE_URL"] = database_url
    from benchmarks.app import create_app  # noqa: PLC0415  # reads the environment when called

    app = create_app()
    customer = [(b"x-customer", b"cpu-bench")]
    try:
        async with running(app):
            _, created = await call(app, "POST", "/payguard/sessions", customer, CREATE_BODY)
            _, row = await call(app, "POST", "/bare/rows", [], b"")
            numbers = itertools.count()
            cases = {
                "bare_insert": ("POST", "/bare/rows", [], b""),
                "create_session": ("POST", "/payguard/sessions", None, CREATE_BODY),
                "create_session_keyed": ("POST", "/payguard/sessions", None, CREATE_BODY),
                "manual_session": ("POST", "/bare/sessions", None, CREATE_BODY),
                "bare_select": ("GET", f"/bare/rows/{json.loads(row)['id']}", [], b""),
                "get_session": ("GET", f"/payguard/sessions/{json.loads(created)['id']}", customer, b""),
            }
            best: dict[str, float] = {}
            for _ in range(3):
                for name, (method, path, fixed, body) in cases.items():
                    started = time.process_time()
                    for _ in range(requests):
                        # A creation is for a new customer each time: the same one would meet its own open payment.
                        headers = fixed if fixed is not None else [(b"x-customer", f"cpu-{next(numbers)}".encode())]
                        extra = [(b"idempotency-key", f"cpu-{next(numbers)}".encode())] if "keyed" in name else []
                        status, answer = await call(app, method, path, [*headers, *extra], body)
                        if status >= 300:
                            raise SystemExit(f"{name}: {status} {answer[:200]!r}")
                    per_request = (time.process_time() - started) / requests * 1e6
                    best[name] = min(best.get(name, per_request), per_request)
    finally:
        await dispose_engine(app)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    with servers(fast_postgres=False) as (postgres, redis):
        os.environ["BENCH_REDIS_URL"] = redis.url
        database_url = asyncio.run(create_database(postgres, BARE_TABLE))
        best = asyncio.run(measure(args.requests, database_url))
    print("\n| endpoint | CPU µs per request |\n|---|---:|")
    for name, micros in best.items():
        print(f"| {name} | {micros:.0f} |")
    print(f"\ncreate / hand-written = {best['manual_session'] / best['create_session']:.2f}")
    print(f"create / bare insert = {best['bare_insert'] / best['create_session']:.2f}")
    print(f"create with a fresh key / without = {best['create_session'] / best['create_session_keyed']:.2f}")
    print(f"status / bare select = {best['bare_select'] / best['get_session']:.2f}")


if __name__ == "__main__":
    main()
