"""Webhook delivery attempts: taken (:mod:`.taking`), sent with no transaction open (:mod:`.sending`), recorded.

A worker's job runs :meth:`WebhookDeliverer.deliver_due`: it takes its delivery and, with it, the endpoint's other
due deliveries, as many as the endpoint has attempts free, and sends them at once; one transaction then records
their outcomes and takes the next ones due (so a 410, or a failing spell that disables the endpoint, stops the
run before anything more is sent to it). A backlog of one endpoint so costs one short transaction per few
deliveries, not two per delivery, and each delivery keeps its own row, lease, attempts and schedule. Recording
stores the attempts and decides what the deliveries and their endpoint become (:mod:`.outcome`); on Postgres a
batch whose every attempt was delivered is recorded, and the next one taken, in two statements (:mod:`.fast_path`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from litestar_payguard.config import WEBHOOK_LEASE_MARGIN_SECONDS
from litestar_payguard.models import WebhookEndpoint
from litestar_payguard.services.webhooks.outbound.due import next_due
from litestar_payguard.services.webhooks.outbound.outcome import (
    Attempt,
    Step,
    record_attempt,
    record_attempts,
)
from litestar_payguard.services.webhooks.outbound.sending import AttemptSender
from litestar_payguard.services.webhooks.outbound.taking import AttemptTaker, Taken

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from uuid import UUID

    import httpx

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.models import DeliveryStatus
    from litestar_payguard.services.webhooks.outbound.fast_path import DeliveryStatements
    from litestar_payguard.services.webhooks.outbound.secret_box import SecretBox
    from litestar_payguard.services.webhooks.outbound.targets import Resolver
    from litestar_payguard.services.webhooks.outbound.transport import SendResult
    from litestar_payguard.transactions import DbSessionFactory

__all__ = ("RUN_SECONDS", "Run", "WebhookDeliverer")

RUN_SECONDS = WEBHOOK_LEASE_MARGIN_SECONDS / 4
"""How long after it starts a run of :meth:`WebhookDeliverer.deliver_due` may take more deliveries.

A quarter of the lease's margin over the attempt's timeout: the last ones taken have a whole timeout to answer
(their target's resolution included) and three quarters of the margin to be recorded before the job's deadline
(one lease). A run whose worker is stopping takes no more either, so it ends within one attempt's timeout and
its recording, inside the worker's shutdown grace.
"""


@dataclass(slots=True)
class Run:
    """What a run of :meth:`WebhookDeliverer.deliver_due` did.

    Attributes:
        delivery_id: The delivery the run was asked for.
        status: Its status afterwards (``None``: no such delivery, or it was not taken).
        later: The deliveries a worker should take up again, and when: retries on the schedule, and the
            endpoint's next due one when the run stopped with some left.
        attempts: The attempts the run made.
    """

    delivery_id: UUID
    status: DeliveryStatus | None = None
    later: list[tuple[UUID, datetime]] = field(default_factory=list)
    attempts: int = 0

    def add(self, sent: list[tuple[Attempt, SendResult]], steps: list[Step]) -> None:
        """Count recorded attempts, and keep what their deliveries are due for next."""
        self.attempts += len(sent)
        for (attempt, _), step in zip(sent, steps, strict=True):
            if attempt.delivery_id == self.delivery_id:
                self.status = step.status
            if step.next_at is not None:
                self.later.append((attempt.delivery_id, step.next_at))


class WebhookDeliverer:
    """Makes delivery attempts: one per call of :meth:`deliver`, or an endpoint's due ones with :meth:`deliver_due`.

    Args:
        config: payguard's configuration.
        db_sessions: Opens a database session.
        client: The HTTP client (:func:`~.transport.make_client`; tests give one on a recording transport).
        box: Opens the endpoints' sealed signing secrets.
        resolver: Resolves target host names (the system's by default; tests inject one).
        statements: The usual batch step in two statements (Postgres through asyncpg); ``None``: the ORM.
    """

    __slots__ = ("_config", "_db_sessions", "_sender", "_statements", "_taker")

    def __init__(
        self,
        config: PayGuardConfig,
        db_sessions: DbSessionFactory,
        client: httpx.AsyncClient,
        box: SecretBox,
        *,
        resolver: Resolver | None = None,
        statements: DeliveryStatements | None = None,
    ) -> None:
        self._config = config
        self._statements = statements
        self._db_sessions = db_sessions
        self._taker = AttemptTaker(config, box)
        self._sender = AttemptSender(config, client, resolver)

    async def deliver(self, delivery_id: UUID, *, manual: bool = False) -> Step:
        """Make an attempt if the delivery is due (``manual``: now, outside the schedule); where it stands after.

        The attempt is made in two short transactions: take, then (after sending) record.
        """
        async with self._db_sessions() as db:
            taken = await self._taker.take(db, delivery_id, manual=manual, more=False)
            await db.commit()
        if isinstance(taken, Step):
            return taken
        (attempt,) = taken.attempts
        (result,) = await self._sender.send_all([attempt])
        async with self._db_sessions() as db:
            step = await record_attempt(db, self._config, attempt, result, self._config.clock.now())
            await db.commit()
        return step

    async def deliver_due(self, delivery_id: UUID, *, stopping: Callable[[], bool] = lambda: False) -> Run:
        """Make the delivery's attempt if it is due, and with it those of its endpoint's other due deliveries.

        What a worker's job runs (see the module's description), until none is due or the run has gone on for
        ``RUN_SECONDS`` (the job's own deadline is one attempt's lease) or ``stopping()`` says its worker stops. A
        busy endpoint's delivery is left as it is, for the run holding its attempts to take (or the sweep to hand
        out again).
        """
        run, started = Run(delivery_id), time.monotonic()
        taken: Taken | Step | None = None
        if self._statements is not None:
            taken = await self._statements.take_due(delivery_id, taker=self._taker)
        if taken is None:
            async with self._db_sessions() as db:
                taken = await self._taker.take(db, delivery_id, manual=False, more=True)
                await db.commit()
        if isinstance(taken, Step):
            run.status, run.later = taken.status, [] if taken.next_at is None else [(delivery_id, taken.next_at)]
            return run
        while taken.attempts:
            sent = list(zip(taken.attempts, await self._sender.send_all(taken.attempts), strict=True))
            in_time = time.monotonic() - started < RUN_SECONDS and not stopping()
            taken = await self._record(sent, run, take_more=taken.more_due and in_time, keep_next=not in_time)
        return run

    async def _record(
        self, sent: list[tuple[Attempt, SendResult]], run: Run, *, take_more: bool, keep_next: bool
    ) -> Taken:
        """Record the attempts, then take the endpoint's next due ones (``keep_next``: keep the first for later).

        One transaction: the record locks the endpoint, so the attempts it frees are counted out at once. A batch
        every attempt of which was delivered is two statements on Postgres (:mod:`.fast_path`), unless it keeps the
        next one for later.
        """
        if self._statements is not None and not keep_next and all(result.delivered for _, result in sent):
            recorded = await self._statements.record_delivered(sent, take=take_more, taker=self._taker)
            if recorded is not None:
                run.add(sent, recorded.steps)
                return recorded.taken
        async with self._db_sessions() as db:
            steps = await record_attempts(db, self._config, sent, self._config.clock.now())
            endpoint = await db.get_one(WebhookEndpoint, sent[0][0].endpoint_id)  # locked by the record
            test_mode = sent[0][0].test_mode
            taken = Taken([], more_due=False)
            if take_more:
                taken = await self._taker.take_more(db, endpoint, test_mode=test_mode)
            due = await next_due(db, endpoint.id, self._config.clock.now()) if keep_next else None
            await db.commit()
        run.add(sent, steps)
        if due is not None:
            run.later.append(due)
        return taken
