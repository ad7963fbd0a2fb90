"""Payments processed per second by 1 and 2 worker processes, against a no-op SAQ job on the same queue.

    ./scripts/uv run --group dev python -m benchmarks.payments --payments 2000 --rounds 3

Real Postgres (durable defaults unless ``--fast-postgres``) and real Redis. Two worker processes
(``benchmarks.payments_worker``) start once and stay warm: each runs a SAQ worker with payguard's functions and a
no-op function, payguard's default concurrency (5), the simulated gateway with no delay, and no cron jobs.

Each round measures four scenarios, in alternating order between rounds:

- ``noop K``: ``--payments`` no-op jobs (same job options as a payment's: key, timeout, retries) processed by
  K = 1 or 2 worker processes. The baseline: what the queue and the workers cost with no work in the job.
- ``payments K``: as many due ``pending`` merchant-API payments (seeded with one INSERT, not timed), one
  ``process_payment`` job each enqueued the way ``Dispatcher`` does it (not timed), processed by K workers.

Everything is seeded and enqueued while no worker runs; the clock starts when the K workers are told to go and
stops when the queue has no incomplete job left (polled every 10 ms). SAQ's sweep is held off by its lock key
(see ``drain``). Every payment must end ``succeeded`` with its ``payment.processing`` and ``payment.succeeded``
events, and exactly one job per payment or no-op must have run.

Reported per round and as medians of the rounds: jobs/s, payments/s ÷ no-op jobs/s for K = 1 and 2 (target
>= 0.5), the scaling from 1 to 2 workers, and the CPU time each process group used per job. After the timed
rounds, an untimed pass counts what one payment costs Postgres: transactions, rows inserted and rows updated, from
Postgres's own statistics (``pg_stat_database``), whichever path (ORM or single statements) the worker took.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from saq import Queue

from benchmarks.common import (
    RESULTS,
    ROOT,
    asyncpg_dsn,
    bench_merchant,
    create_database,
    machine,
    process_cpu,
    process_stat,
    servers,
)
from benchmarks.payments_worker import ORDER_TABLE
from litestar_payguard import PayGuardConfig
from litestar_payguard.services.dispatch import JOB_ATTEMPTS, Dispatcher

QUEUE_NAME = "payguard-bench"
POLL_SECONDS = 0.01
TIMEOUT_SECONDS = 600
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------------------------
# Seeding and enqueueing (never timed)
# ---------------------------------------------------------------------------------------------------------------

SEED = """
INSERT INTO payguard_payment (
    id, merchant_id, customer_id, bundle_id, plan_name, amount, currency, status, mode, gateway, amount_refunded,
    amount_refunding, metadata, order_id, method, method_details, process_at, process_attempts,
    fulfilment_attempts, needs_attention, created_at, updated_at)
SELECT gen_random_uuid(), $1, 'cust-' || g, 'bundle-' || g, 'Gold monthly', 4900, 'USD', 'pending', 'test',
    'simulated', 0, 0, '{"order": "bench"}'::jsonb, 'order-' || g, 'card', '{}'::jsonb, now(), 0, 0, false, now(), now()
FROM generate_series(1, $2) AS g
RETURNING id, process_at
"""
"""Due pending payments as the merchant API creates them: one customer and bundle each, method card."""


async def seed(url: str, count: int) -> list[asyncpg.Record]:
    """Empty the payment tables, add ``count`` due pending payments, VACUUM ANALYZE and CHECKPOINT."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute("TRUNCATE payguard_payment, payguard_event, bench_order CASCADE")
        merchant = await bench_merchant(connection)
        rows = await connection.fetch(SEED, merchant, count)
        await connection.execute("VACUUM ANALYZE payguard_payment")
        await connection.execute("VACUUM ANALYZE payguard_event")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()
    return rows


async def _in_chunks(calls: list[Any], size: int = 200) -> None:
    for start in range(0, len(calls), size):
        await asyncio.gather(*calls[start : start + size])


async def enqueue_payments(queue: Queue, rows: list[asyncpg.Record]) -> None:
    """One ``process_payment`` job per payment, exactly as the merchant API's dispatcher enqueues it."""
    dispatcher = Dispatcher(queue, PayGuardConfig(queue=queue))
    await _in_chunks([dispatcher.payment(row["id"], row["process_at"]) for row in rows])


async def enqueue_noops(queue: Queue, count: int) -> None:
    """``count`` no-op jobs with a payment job's options (a key each, timeout, attempts)."""
    timeout = int(PayGuardConfig(queue=queue).payment_lease_seconds)
    tag = uuid.uuid4().hex[:8]
    await _in_chunks(
        [queue.enqueue("noop", key=f"noop:{tag}:{i}", timeout=timeout, retries=JOB_ATTEMPTS) for i in range(count)]
    )


STATS_FLUSH_SECONDS = 11
"""Postgres 15 backends report their statistics at most once a second, and an idle one within 10 s."""


async def database_stats(url: str) -> dict[str, int]:
    """Transactions, rows inserted and rows updated in the database so far, once every backend has reported."""
    await asyncio.sleep(STATS_FLUSH_SECONDS)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        row = await connection.fetchrow(
            "SELECT xact_commit AS transactions, tup_inserted AS inserted, tup_updated AS updated "
            "FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    return dict(row)


async def verify(url: str, count: int, *, hook: bool) -> None:
    """Every payment succeeded through the gateway, with its two events (and its order, with the hook)."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        statuses = dict(await connection.fetch("SELECT status, count(*) FROM payguard_payment GROUP BY status"))
        charged = await connection.fetchval(
            "SELECT count(*) FROM payguard_payment WHERE gateway_order_id IS NOT NULL "
            "AND gateway_payment_id IS NOT NULL AND process_at IS NULL AND process_attempts = 1"
        )
        events = dict(await connection.fetch("SELECT type, count(*) FROM payguard_event GROUP BY type"))
        orders = await connection.fetchval("SELECT count(*) FROM bench_order")
    finally:
        await connection.close()
    expected_events = {"payment.processing": count, "payment.succeeded": count}
    complete = statuses == {"succeeded": count} and charged == count and events == expected_events
    if not complete or orders != (count if hook else 0):
        msg = f"processing incomplete: statuses {statuses}, charged {charged}, events {events}, orders {orders}"
        raise SystemExit(msg)


# ---------------------------------------------------------------------------------------------------------------
# CPU time of the processes that share the machine
# ---------------------------------------------------------------------------------------------------------------


def _tree_cpu(parent: int) -> float:
    """CPU seconds of Postgres: the postmaster, the backends and helpers it runs, and those that exited."""
    total = process_cpu(parent, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = process_stat(int(entry.name))
                if int(fields[1]) == parent:
                    total += process_cpu(int(entry.name))
            except (OSError, ValueError):  # the process exited meanwhile
                continue
    return total


def _machine_cpu() -> tuple[float, float]:
    """CPU seconds the whole machine spent busy (every process, ours or not), and in softirq (the kernel's
    network work for the loopback sockets, charged to no process), from ``/proc/stat``."""
    ticks = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in ticks[:8])
    return (user + nice + system + irq + steal) / CLOCK_TICKS, softirq / CLOCK_TICKS


def _runqueue_wait(pid: int) -> float:
    """Seconds the process was ready to run but waited for a CPU (``/proc/<pid>/schedstat``)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


@dataclass
class Processes:
    postmaster: int
    redis: int
    workers: list[int]

    def cpu(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        machine, softirq = _machine_cpu()
        return {
            "workers": sum(process_cpu(pid) for pid in self.workers),
            "postgres": _tree_cpu(self.postmaster),
            "redis": process_cpu(self.redis),
            "driver": usage.ru_utime + usage.ru_stime,
            "machine": machine,
            "softirq": softirq,
            "workers_waiting": sum(_runqueue_wait(pid) for pid in self.workers),
        }


OURS = ("workers", "postgres", "redis", "driver")


# ---------------------------------------------------------------------------------------------------------------
# Worker processes
# ---------------------------------------------------------------------------------------------------------------


class WorkerProcess:
    """A ``benchmarks.payments_worker`` process, driven line by line."""

    def __init__(self, url: str, redis_url: str, concurrency: int, *, hook: bool) -> None:
        command = [sys.executable, "-m", "benchmarks.payments_worker", url, redis_url, QUEUE_NAME, str(concurrency)]
        self.proc = subprocess.Popen(
            [*command, "hook"] if hook else command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def read(self) -> Any:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            msg = f"worker {self.pid} exited ({self.proc.poll()})"
            raise SystemExit(msg)
        return line if line.strip() == "ready" else json.loads(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


@dataclass
class Run:
    kind: str
    workers: int
    jobs: int
    seconds: float
    cpu: dict[str, float] = field(default_factory=dict)
    per_worker: list[dict[str, int]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.jobs / self.seconds


async def drain(queue: Queue, workers: list[WorkerProcess], processes: Processes) -> Run:
    """Let the workers go; time them until the queue has no incomplete job; stop them."""
    # A starting SAQ worker sweeps the queue at once, and the sweep takes a job that another process task has
    # just dequeued but not yet marked active for a lost one: it aborts it and enqueues it again, so the job runs
    # twice. Workers that run for hours sweep once a minute; these start anew in every scenario, so the sweep is
    # held off by its lock key.
    await queue.redis.set(queue.namespace("sweep"), 1, ex=3600)  # type: ignore[attr-defined]
    before = processes.cpu()
    started = time.perf_counter()
    for worker in workers:
        worker.send("go")
    for worker in workers:
        worker.read()
    while await queue.count("incomplete"):
        if time.perf_counter() - started > TIMEOUT_SECONDS:
            msg = "the workers did not finish in time"
            raise SystemExit(msg)
        await asyncio.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - started
    after = processes.cpu()
    answers = []
    for worker in workers:
        worker.send("stop")
        answers.append(worker.read())
    jobs = sum(sum(answer["jobs"].values()) for answer in answers)
    return Run(
        kind="",
        workers=len(workers),
        jobs=jobs,
        seconds=seconds,
        cpu={name: after[name] - before[name] for name in before},
        per_worker=[answer["jobs"] for answer in answers],
    )


async def scenario(
    kind: str,
    k: int,
    count: int,
    url: str,
    queue: Queue,
    pool: list[WorkerProcess],
    processes: Processes,
    *,
    hook: bool,
) -> Run:
    if kind == "payments":
        await enqueue_payments(queue, await seed(url, count))
    else:
        await enqueue_noops(queue, count)
    run = await drain(queue, pool[:k], processes)
    run.kind = kind
    if run.jobs != count:
        msg = f"{kind} with {k} workers: {run.jobs} jobs ran, {count} expected"
        raise SystemExit(msg)
    if kind == "payments":
        await verify(url, count, hook=hook)
    return run


# ---------------------------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------------------------

LABELS = {"noop": "no-op jobs/s", "payments": "payments/s"}


def ratios(runs: dict[str, Run]) -> dict[str, float]:
    return {
        "payments/noop K=1": runs["payments 1"].rate / runs["noop 1"].rate,
        "payments/noop K=2": runs["payments 2"].rate / runs["noop 2"].rate,
        "payment scaling 1->2": runs["payments 2"].rate / runs["payments 1"].rate,
        "no-op scaling 1->2": runs["noop 2"].rate / runs["noop 1"].rate,
    }


def print_tables(rounds: list[dict[str, Run]]) -> dict[str, Any]:
    names = ["noop 1", "payments 1", "noop 2", "payments 2"]
    print("\n| | " + " | ".join(f"round {i + 1}" for i in range(len(rounds))) + " | median |")
    print("|---|" + "---:|" * (len(rounds) + 1))
    medians: dict[str, float] = {}
    for name in names:
        kind, k = name.split()
        rates = [r[name].rate for r in rounds]
        medians[name] = statistics.median(rates)
        row = " | ".join(f"{rate:.0f}" for rate in rates)
        print(f"| {LABELS[kind]}, {k} worker{'s' if k != '1' else ''} | {row} | {medians[name]:.0f} |")
    per_round = [ratios(r) for r in rounds]
    median_ratios = {}
    for name in per_round[0]:
        values = [entry[name] for entry in per_round]
        median_ratios[name] = statistics.median(values)
        row = " | ".join(f"{value:.2f}" for value in values)
        print(f"| {name} | {row} | **{median_ratios[name]:.2f}** |")

    print(
        "\nCPU time per job in µs (workers, postgres, redis, driver), then over the run in cores: all of ours, the "
        "kernel's softirq (loopback networking), other processes on the machine, and the workers' time waiting "
        "for a CPU (medians of the rounds):"
    )
    print(
        "\n| scenario | workers | postgres | redis | driver | total | ours | softirq | others | workers waiting |"
        "\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    )
    cpu: dict[str, dict[str, float]] = {}
    for name in names:
        per_job = {g: [r[name].cpu[g] / r[name].jobs * 1e6 for r in rounds] for g in OURS}
        cpu[name] = {g: statistics.median(values) for g, values in per_job.items()}
        cpu[name]["total"] = statistics.median(sum(r[name].cpu[g] for g in OURS) / r[name].jobs * 1e6 for r in rounds)
        for label, of_run in (
            ("ours", lambda run: sum(run.cpu[g] for g in OURS)),
            ("softirq", lambda run: run.cpu["softirq"]),
            ("others", lambda run: max(run.cpu["machine"] - sum(run.cpu[g] for g in OURS), 0)),
            ("workers waiting", lambda run: run.cpu["workers_waiting"]),
        ):
            cpu[name][f"{label} cores"] = statistics.median(of_run(r[name]) / r[name].seconds for r in rounds)
        kind, k = name.split()
        cells = " | ".join(f"{cpu[name][g]:.0f}" for g in (*OURS, "total"))
        cores = " | ".join(
            f"{cpu[name][f'{label} cores']:.2f}" for label in ("ours", "softirq", "others", "workers waiting")
        )
        print(f"| {LABELS[kind].removesuffix('/s')}, K={k} | {cells} | {cores} |")
    return {"medians": medians, "ratios": median_ratios, "ratios_per_round": per_round, "cpu_us_per_job": cpu}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    with servers(fast_postgres=args.fast_postgres) as (postgres, redis):
        url = await create_database(postgres, ORDER_TABLE)
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            postmaster = int(process_stat(await connection.fetchval("SELECT pg_backend_pid()"))[1])
            durability = {
                name: await connection.fetchval(f"SHOW {name}")
                for name in ("fsync", "synchronous_commit", "full_page_writes")
            }
        finally:
            await connection.close()
        print(f"postgres settings: {durability}; redis from {redis.source}")
        queue = Queue.from_url(redis.url, name=QUEUE_NAME)
        await queue.connect()
        pool = [WorkerProcess(url, redis.url, args.concurrency, hook=args.hook) for _ in range(2)]
        try:
            for worker in pool:
                assert worker.read() == "ready\n"
            redis_info = await queue.redis.info("server")  # type: ignore[attr-defined]
            processes = Processes(
                postmaster=postmaster, redis=int(redis_info["process_id"]), workers=[w.pid for w in pool]
            )
            print(
                f"redis {redis_info['redis_version']}; worker processes {processes.workers}, "
                f"concurrency {args.concurrency} each"
            )
            for kind in ("noop", "payments"):  # warm-up: pools, statement caches, Redis scripts; not reported
                await scenario(kind, 2, args.warmup, url, queue, pool, processes, hook=args.hook)

            order = [("noop", 1), ("payments", 1), ("noop", 2), ("payments", 2)]
            rounds: list[dict[str, Run]] = []
            for number in range(args.rounds):
                runs: dict[str, Run] = {}
                for kind, k in order if number % 2 == 0 else order[::-1]:
                    run = await scenario(kind, k, args.payments, url, queue, pool, processes, hook=args.hook)
                    runs[f"{kind} {k}"] = run
                    split = " + ".join(str(sum(jobs.values())) for jobs in run.per_worker)
                    print(
                        f"round {number + 1}: {kind} with {k} worker(s): {run.jobs} in {run.seconds:.2f} s = "
                        f"{run.rate:.0f}/s (jobs per worker {split}; CPU s: "
                        + ", ".join(f"{name} {value:.2f}" for name, value in run.cpu.items() if name in OURS)
                        + f"; other processes {max(run.cpu['machine'] - sum(run.cpu[g] for g in OURS), 0):.2f})"
                    )
                rounds.append(runs)
                each = ratios(runs)
                print(f"round {number + 1}: " + ", ".join(f"{name} {value:.2f}" for name, value in each.items()))

            summary = print_tables(rounds)

            sample = min(args.payments, 200)  # untimed: what one payment costs Postgres
            rows = await seed(url, sample)
            before = await database_stats(url)
            await enqueue_payments(queue, rows)
            await drain(queue, pool[:1], processes)
            await verify(url, sample, hook=args.hook)
            after = await database_stats(url)
            per_payment = {name: (after[name] - before[name]) / sample for name in after}
            print(
                "\nper payment (untimed pass, pg_stat_database): "
                + ", ".join(f"{name} {value:.2f}" for name, value in per_payment.items())
            )
        finally:
            for worker in pool:
                worker.close()
            await queue.disconnect()
    return {
        "postgres": durability,
        "rounds": [{name: asdict(run) | {"rate": run.rate} for name, run in r.items()} for r in rounds],
        **summary,
        "postgres_per_payment": per_payment,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=2000, help="payments, and no-op jobs, per scenario")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=5, help="jobs at once per worker (payguard's default)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed jobs of each kind before the rounds")
    parser.add_argument("--fast-postgres", action="store_true", help="fsync=off, synchronous_commit=off")
    parser.add_argument(
        "--hook", action="store_true", help="an on_payment_succeeded hook inserting one order row (the ORM path)"
    )
    args = parser.parse_args()
    result = asyncio.run(bench(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"payments-{int(time.time())}.json"
    payload = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine()}
    out.write_text(json.dumps(payload | {"settings": vars(args)} | result, indent=2))
    print(f"results: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
