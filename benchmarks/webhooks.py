"""Outbound webhook delivery: one payguard worker against a plain httpx loop, and one event fanned out to 100.

    ./scripts/uv run --group dev python -m benchmarks.webhooks --events 500 --rounds 3

Three processes besides Postgres and Redis: the receiver (``benchmarks.webhook_receiver``, answers 204 at once),
one payguard worker (``benchmarks.webhooks_worker``, SAQ concurrency 5 by default, the webhook sweep every
second) and this driver, which seeds, commits the events and runs the baseline. Each round:

1. **payguard**: the worker is started, then N ``payment.succeeded`` events of a test-mode merchant with one
   endpoint are committed in one transaction. The sweep fans them out (up to one second later, 200 events per
   transaction) and enqueues one job for the endpoint; the job takes its due deliveries as many at a time as the
   endpoint has attempts free (one transaction), signs and POSTs them at once, and records their answers in one
   transaction that takes the next ones. Measured from the commit to the last arrival at the
   receiver, and from the first arrival to the last (the sweep's latency left out). The worker is then stopped.
2. **plain httpx**: the same N bodies (as payguard sent them) POSTed by 5 tasks sharing one ``httpx.AsyncClient``
   from this process, measured from the first request to the last answer.
3. **fan-out**: the worker is started, one event of a merchant with 100 endpoints is committed; measured from
   the commit to the last of the 100 arrivals (and to the first).
4. **SAQ alone**: N empty jobs (``noop``), enqueued from this process with a delivery job's settings, through the
   same worker: the most jobs per second any design with one SAQ job per delivery could reach here.

Ratios are computed within each round; the median of the rounds is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from typing import Any

import httpx
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import func, select

from benchmarks.common import RESULTS, ROOT, create_database, machine, process_cpu, servers
from benchmarks.webhooks_worker import SWEEP_SECONDS, bench_config
from litestar_payguard import MerchantService
from litestar_payguard.models import DeliveryStatus, OutboxEvent, WebhookDelivery
from litestar_payguard.runtime import PayGuard
from litestar_payguard.schemas.webhooks import WebhookEndpointCreate, WebhookTest
from litestar_payguard.services.outbox import Outbox
from litestar_payguard.services.webhooks import WebhookEndpointService
from litestar_payguard.services.webhooks.outbound.payload import delivery_body

QUEUE_NAME = "payguard-bench-webhooks"
FAN_OUT = 100
TARGET = 0.5


class Child:
    """A benchmark process driven one line at a time (stdin commands, one JSON line back)."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.proc.args!r} exited ({self.proc.poll()})")
        return line.strip()

    def ask(self, command: str) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return json.loads(self.line())

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


async def seed(payguard: PayGuard, receiver_url: str) -> tuple[uuid.UUID, uuid.UUID]:
    """Two test-mode merchants: one with one endpoint, one with ``FAN_OUT`` endpoints; their ids."""
    ids = []
    async with payguard.db_session() as db:
        for name, endpoints in (("one", 1), ("fan", FAN_OUT)):
            merchant = await MerchantService(db).ensure(f"key_{name}", name=name, secret=f"secret_{name}")
            service = WebhookEndpointService(db, payguard.config, merchant.id)
            for i in range(endpoints):
                await service.create(WebhookEndpointCreate(url=f"{receiver_url}/{name}/{i}"))
            ids.append(merchant.id)
        await db.commit()
    return ids[0], ids[1]


async def commit_events(payguard: PayGuard, merchant_id: uuid.UUID, count: int) -> tuple[float, list[bytes]]:
    """Commit ``count`` events in one transaction; the wall-clock time of the commit and the bodies sent."""
    clock = payguard.config.clock
    async with payguard.db_session() as db:
        outbox, events = Outbox(db, clock), []
        for _ in range(count):
            subject = uuid.uuid4()
            payload = WebhookTest(endpoint_id=subject, message="benchmark")
            events.append(
                outbox.record(
                    merchant_id=merchant_id,
                    type="payment.succeeded",
                    subject_id=subject,
                    payload=payload,
                    at=clock.now(),
                )
            )
        await db.flush()
        max_bytes = payguard.config.webhook_max_body_bytes
        bodies = [_body(event, payguard, max_bytes) for event in events]  # as the attempts will build them
        await db.commit()
        return time.time(), bodies


def _body(event: OutboxEvent, payguard: PayGuard, max_bytes: int) -> bytes:
    return delivery_body(event, events_url=f"{payguard.config.path}/v1/events", max_bytes=max_bytes)


async def wait_for(receiver: Child, count: int, limit: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + limit
    while (stats := receiver.ask("stats"))["count"] < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {stats['count']} of {count} deliveries arrived in {limit} s")
        await asyncio.sleep(0.02)
    return dict(stats)


async def recorded(payguard: PayGuard, limit: float = 60.0) -> None:
    """Wait until no delivery is pending (every attempt recorded)."""
    deadline = time.monotonic() + limit
    while True:
        async with payguard.db_session() as db:
            pending = await db.scalar(
                select(func.count())
                .select_from(WebhookDelivery)
                .where(WebhookDelivery.status == DeliveryStatus.PENDING)
            )
        if not pending:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"{pending} deliveries still pending after {limit} s")
        await asyncio.sleep(0.05)


async def payguard_round(
    payguard: PayGuard, worker: Child, receiver: Child, merchant_id: uuid.UUID, count: int
) -> tuple[dict[str, float], list[bytes]]:
    receiver.ask("reset")
    worker.ask("go")
    await asyncio.sleep(0.5)  # the worker is up and waiting on the queue
    cpu = process_cpu(worker.proc.pid)
    committed, bodies = await commit_events(payguard, merchant_id, count)
    stats = await wait_for(receiver, count)
    cpu = process_cpu(worker.proc.pid) - cpu
    await recorded(payguard)  # stopping cancels attempts still recording, and their leases would block the next round
    stopped = worker.ask("stop")
    jobs = stopped["jobs"]
    stats = receiver.ask("stats")
    if stats["distinct"] != count or stats["count"] != count:
        raise SystemExit(f"payguard: {stats['count']} requests for {stats['distinct']} of {count} events")
    total, spread = stats["last"] - committed, stats["last"] - stats["first"]
    return {
        "per_second": count / total,
        "arrivals_per_second": (count - 1) / spread,
        "to_first_s": stats["first"] - committed,
        "to_last_s": total,
        "deliver_jobs": jobs.get("deliver_webhook", 0),
        "worker_cpu_ms_each": 1000 * cpu / count,
        "phases": {
            phase: {"calls": calls, "ms_each": 1000 * seconds / calls}
            for phase, (calls, seconds) in stopped["phases"].items()
        },
    }, bodies


async def plain_round(
    client: httpx.AsyncClient, receiver: Child, url: str, bodies: list[bytes], tasks: int
) -> tuple[float, float]:
    """POST the bodies with ``tasks`` tasks sharing ``client``; deliveries per second, CPU ms of this process each."""
    receiver.ask("reset")
    pending = iter(bodies)

    async def post_all() -> None:
        for body in pending:
            headers = {"content-type": "application/json", "webhook-id": uuid.uuid4().hex}
            response = await client.post(url, content=body, headers=headers)
            if response.status_code != 204:
                raise SystemExit(f"plain: the receiver answered {response.status_code}")

    started, cpu = time.time(), process_cpu(os.getpid())
    await asyncio.gather(*(post_all() for _ in range(tasks)))
    elapsed, cpu = time.time() - started, process_cpu(os.getpid()) - cpu
    stats = receiver.ask("stats")
    if stats["distinct"] != len(bodies):
        raise SystemExit(f"plain: {stats['distinct']} of {len(bodies)} arrived")
    return len(bodies) / elapsed, 1000 * cpu / len(bodies)


async def saq_round(payguard: PayGuard, worker: Child, count: int) -> dict[str, float]:
    """``count`` empty jobs enqueued as payguard enqueues a delivery's, through the same worker: SAQ's own floor."""
    worker.ask("go")
    await asyncio.sleep(0.5)
    cpu = process_cpu(worker.proc.pid)
    started = time.time()
    for _ in range(count):
        await payguard.queue.enqueue("noop", key=f"noop:{uuid.uuid4()}", timeout=25, retries=2)
    deadline = time.monotonic() + 120
    while worker.ask("done").get("noop", 0) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {worker.ask('done').get('noop', 0)} of {count} empty jobs ran in 120 s")
        await asyncio.sleep(0.01)
    elapsed, cpu = time.time() - started, process_cpu(worker.proc.pid) - cpu
    worker.ask("stop")
    return {"per_second": count / elapsed, "worker_cpu_ms_each": 1000 * cpu / count}


async def fan_out_round(payguard: PayGuard, worker: Child, receiver: Child, merchant_id: uuid.UUID) -> dict[str, float]:
    receiver.ask("reset")
    worker.ask("go")
    await asyncio.sleep(0.5)
    committed, _ = await commit_events(payguard, merchant_id, 1)
    stats = await wait_for(receiver, FAN_OUT)
    await recorded(payguard)
    worker.ask("stop")
    return {"to_first_s": stats["first"] - committed, "to_last_s": stats["last"] - committed}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    key = base64.b64encode(os.urandom(32)).decode()
    with servers(fast_postgres=False) as (postgres, redis):
        url = await create_database(postgres)
        database = SQLAlchemyAsyncConfig(connection_string=url, create_all=False)
        payguard = PayGuard(bench_config(redis.url, QUEUE_NAME, args.concurrency, key), database)
        receiver = Child("benchmarks.webhook_receiver")
        worker = None
        try:
            base = f"http://127.0.0.1:{receiver.line()}"
            one, fan = await seed(payguard, base)
            worker = Child("benchmarks.webhooks_worker", url, redis.url, QUEUE_NAME, str(args.concurrency), key)
            assert worker.line() == "ready"
            limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
            async with httpx.AsyncClient(limits=limits) as client:
                return await _rounds(args, payguard, worker, receiver, client, base, (one, fan))
        finally:
            if worker is not None:
                worker.close()
            receiver.close()
            await database.get_engine().dispose()


async def _rounds(
    args: argparse.Namespace,
    payguard: PayGuard,
    worker: Child,
    receiver: Child,
    client: httpx.AsyncClient,
    base: str,
    merchants: tuple[uuid.UUID, uuid.UUID],
) -> dict[str, Any]:
    one, fan = merchants
    _, bodies = await payguard_round(payguard, worker, receiver, one, 50)  # warm-up, not reported
    await plain_round(client, receiver, f"{base}/plain", bodies, args.concurrency)
    rounds: list[dict[str, Any]] = []
    for number in range(1, args.rounds + 1):
        ours, bodies = await payguard_round(payguard, worker, receiver, one, args.events)
        plain, plain_cpu = await plain_round(client, receiver, f"{base}/plain", bodies, args.concurrency)
        fanned = await fan_out_round(payguard, worker, receiver, fan)
        saq = await saq_round(payguard, worker, args.events)
        entry = {
            "payguard": ours,
            "plain_per_second": plain,
            "plain_cpu_ms_each": plain_cpu,
            "ratio": ours["per_second"] / plain,
            "ratio_arrivals": ours["arrivals_per_second"] / plain,
            "fan_out": fanned,
            "saq_empty_jobs": saq,
            "ratio_saq_floor": saq["per_second"] / plain,
        }
        rounds.append(entry)
        print(
            f"round {number}: payguard {ours['per_second']:.0f}/s from the commit "
            f"({ours['arrivals_per_second']:.0f}/s first to last arrival, first after {ours['to_first_s']:.2f} s), "
            f"plain httpx {plain:.0f}/s; CPU ms each: worker {ours['worker_cpu_ms_each']:.2f}, plain {plain_cpu:.2f}; "
            f"ratio {entry['ratio']:.2f} ({entry['ratio_arrivals']:.2f}); "
            f"fan-out to {FAN_OUT}: first {fanned['to_first_s']:.2f} s, last {fanned['to_last_s']:.2f} s; "
            f"SAQ alone: {saq['per_second']:.0f} empty jobs/s ({saq['worker_cpu_ms_each']:.2f} ms CPU each), "
            f"{entry['ratio_saq_floor']:.2f} of plain",
            flush=True,
        )
    return summarise(args, rounds)


def summarise(args: argparse.Namespace, rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def median(of: Any) -> float:
        return float(statistics.median(of(r) for r in rounds))

    summary = {
        "payguard_per_second": median(lambda r: r["payguard"]["per_second"]),
        "payguard_arrivals_per_second": median(lambda r: r["payguard"]["arrivals_per_second"]),
        "payguard_to_first_s": median(lambda r: r["payguard"]["to_first_s"]),
        "plain_per_second": median(lambda r: r["plain_per_second"]),
        "worker_cpu_ms_each": median(lambda r: r["payguard"]["worker_cpu_ms_each"]),
        "plain_cpu_ms_each": median(lambda r: r["plain_cpu_ms_each"]),
        "ratio": median(lambda r: r["ratio"]),
        "ratio_arrivals": median(lambda r: r["ratio_arrivals"]),
        "fan_out_to_first_s": median(lambda r: r["fan_out"]["to_first_s"]),
        "fan_out_to_last_s": median(lambda r: r["fan_out"]["to_last_s"]),
        "saq_empty_jobs_per_second": median(lambda r: r["saq_empty_jobs"]["per_second"]),
        "saq_empty_job_cpu_ms_each": median(lambda r: r["saq_empty_jobs"]["worker_cpu_ms_each"]),
        "ratio_saq_floor": median(lambda r: r["ratio_saq_floor"]),
    }
    each = ", ".join(f"{r['ratio']:.2f}" for r in rounds)
    print(f"\nmedians of {len(rounds)} rounds, {args.events} events, concurrency {args.concurrency}:")
    for name, value in summary.items():
        print(f"  {name}: {value:.2f}")
    print(f"payguard / plain = {summary['ratio']:.2f} (target >= {TARGET}; rounds: {each})")
    settings = {"events": args.events, "rounds": args.rounds, "concurrency": args.concurrency, "sweep_s": SWEEP_SECONDS}
    payload: dict[str, Any] = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine()}
    payload.update({"settings": settings, "summary": summary, "rounds": rounds})
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"webhooks-{int(time.time())}.json"
    out.write_text(json.dumps(payload, indent=2))
    print(f"results: {out.relative_to(ROOT)}")
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500, help="events per payguard round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=5, help="SAQ concurrency, and the plain loop's tasks")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()
