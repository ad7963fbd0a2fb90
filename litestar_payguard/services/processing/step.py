"""The skeleton of a worker's step, shared by payments and refunds: claim, ask the gateway, record or retry.

A step *claims* a due row under a row lock (it takes a lease: ``process_at`` moves to the lease's end), asks the
gateway with no transaction open and inside :func:`~.lease.gateway_deadline`, then *records* the answer under the
row lock again, or, without an answer, gives the lease back with a due time after a backoff. What a claim, a
question to the gateway and an answer are is the subclass's.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from datetime import timedelta
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar, cast

from litestar_payguard.services.gateway_modes import payment_gateway
from litestar_payguard.services.processing.lease import Lease, gateway_deadline

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.gateways import Gateway
    from litestar_payguard.models import Payment, PaymentStatus, Refund, RefundStatus
    from litestar_payguard.transactions import DbSessionFactory

__all__ = ("LeasedProcessor",)

logger = logging.getLogger("litestar_payguard.processing")

LeaseT = TypeVar("LeaseT", bound=Lease)
OutcomeT = TypeVar("OutcomeT")
StepT = TypeVar("StepT")


class LeasedProcessor(ABC, Generic[LeaseT, OutcomeT, StepT]):
    """Takes steps with due rows of one kind (``LeaseT`` its claims, ``OutcomeT`` the gateway's answers).

    Args:
        config: payguard's configuration (gateways, timings, clock).
        sessions: Opens a database session; each part of a step commits its own.
    """

    __slots__ = ("_config", "_db_sessions")

    _subject: ClassVar[str]
    """What a step is taken with (``payment``, ``refund``), as the log messages name it."""
    _claimed_status: ClassVar[PaymentStatus | RefundStatus]
    """The status a claimed row has while the gateway is asked: any other, and it was decided meanwhile."""

    def __init__(self, config: PayGuardConfig, sessions: DbSessionFactory) -> None:
        self._config = config
        self._db_sessions = sessions

    def _now(self) -> datetime:
        return self._config.clock.now()

    async def process(self, subject_id: UUID) -> StepT:
        """Take one step with a due row: claim it, ask the gateway, record the answer.

        Returns:
            Where the row stands, and when the next step is due (a retry, a poll, or the end of the lease of a
            worker that holds it now).
        """
        claimed_or_step = await self._claim(subject_id)
        if not isinstance(claimed_or_step, Lease):
            return claimed_or_step
        claimed = cast("LeaseT", claimed_or_step)  # the claim's own kind: a step is never a Lease
        try:
            return await self._take(claimed)
        except asyncio.CancelledError:
            # The worker is stopping, or SAQ aborted the job: give the lease back rather than make the row wait
            # for it to run out. The job SAQ retries goes on at once, and asks the gateway where things stand.
            logger.info(
                f"payguard: the step with {self._subject} %s was cancelled; its lease is given back", subject_id
            )
            await asyncio.shield(self._later(claimed, timedelta(0)))
            raise

    async def _take(self, claimed: LeaseT) -> StepT:
        """Ask the gateway about a claimed row and record its answer (or retry later without one).

        A row whose gateway is not configured (a live payment in a deployment without a live gateway, or a gateway
        replaced since the payment was made) is treated as one without an answer, and never sent to another one.
        """
        try:
            gateway = payment_gateway(self._config, claimed.mode, claimed.gateway)
            outcome = await self._ask(gateway, claimed, gateway_deadline(self._config, claimed.lease_until))
        except Exception as exc:  # any adapter failure: the gateway gave no answer, try again later
            return await self._no_answer(claimed, exc)
        return await self._record(claimed, outcome)

    def _lease_lost(self, row: Payment | Refund, claim: LeaseT) -> bool:
        """Whether the locked row is no longer this step's to change.

        Decided meanwhile (it left the status a claim gives it), or no longer under the claim's lease
        (:meth:`~.lease.Lease.held_by`): the other step's answer stands.
        """
        return row.status is not self._claimed_status or not claim.held_by(row.process_at)

    @abstractmethod
    async def _claim(self, subject_id: UUID) -> LeaseT | StepT:
        """Claim the row if it is due (a lease, committed); otherwise where it stands."""

    @abstractmethod
    async def _ask(self, gateway: Gateway, claim: LeaseT, deadline: float) -> OutcomeT:
        """The gateway's answer for the claim; every call must have answered by ``deadline`` (loop time)."""

    @abstractmethod
    async def _no_answer(self, claim: LeaseT, exc: Exception) -> StepT:
        """The gateway gave no answer (``exc``): retry later, while the lease is still this step's."""

    @abstractmethod
    async def _record(self, claim: LeaseT, outcome: OutcomeT) -> StepT:
        """Record the gateway's answer under the row lock."""

    @abstractmethod
    async def _later(self, claim: LeaseT, delay: timedelta) -> StepT:
        """Give the lease back with a due time ``delay`` from now (only while the lease is still this step's)."""
