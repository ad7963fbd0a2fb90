"""What the checkout-session rules decide, and the building blocks they decide with.

A rule (:mod:`~litestar_payguard.services.sessions.rules`) changes the in-memory session and answers a
:class:`Decision`: the :class:`Transition` objects to store and publish, then the error to raise if it refused.
A session moves in two ways, both built here: an attempt stops (:func:`interruption`) or the session ends
(:func:`ending`). Nothing here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from litestar_payguard.exceptions import (
    Action,
    ConflictError,
    PayGuardError,
    PaymentProcessingError,
    SessionCancelledError,
    SessionCompletedError,
    SessionExpiredError,
    SessionFailedError,
)
from litestar_payguard.models import (
    OPEN_PAYMENT_STATUSES,
    SESSION_TERMINAL,
    CheckoutSession,
    InterruptKind,
    PaymentStatus,
    SessionEventType,
    SessionSnapshot,
    SessionState,
    SessionStatus,
    clip,
)

__all__ = (
    "START_NEW",
    "Decision",
    "SessionPolicy",
    "Transition",
    "actions_for",
    "ending",
    "interruption",
    "is_due",
    "processing_error",
    "terminal_error",
)

START_NEW = Action("POST", "/sessions", "Start a new checkout")

TERMINAL_ERRORS: dict[SessionStatus, type[ConflictError]] = {
    SessionStatus.COMPLETED: SessionCompletedError,
    SessionStatus.CANCELLED: SessionCancelledError,
    SessionStatus.FAILED: SessionFailedError,
    SessionStatus.EXPIRED: SessionExpiredError,
}


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """The timing rules of sessions (from ``PayGuardConfig``)."""

    attempt_timeout: timedelta
    retry_delay: timedelta
    expiry: timedelta
    max_attempts: int


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change of a session, and the change of its payment that goes with it."""

    event: SessionEventType
    at: datetime
    state: SessionState
    """The session right after this transition."""
    kind: InterruptKind | None = None
    detail: str | None = None
    payment_status: PaymentStatus | None = None
    """The payment's new status; ``None`` leaves the payment alone."""
    gateway_payment_id: str | None = None
    """The gateway's reference, when the payment succeeded."""
    failure_code: str | None = None
    """Why the payment failed, when it did."""

    @property
    def attempt(self) -> int:
        """The attempt the transition belongs to."""
        return self.state.attempt


@dataclass(slots=True)
class Decision:
    """What a rule did: transitions to store, then an error to raise (if refused)."""

    transitions: list[Transition] = field(default_factory=list)
    error: PayGuardError | None = None

    def refuse(self, error: PayGuardError) -> Decision:
        """Refuse the request; transitions already made are still stored (and committed with the error)."""
        self.error = error
        return self


def actions_for(session: CheckoutSession) -> dict[str, Action]:
    """The ways out of a session whose attempt stopped: cancel, and try again or start anew."""
    base = f"/sessions/{session.id}"
    actions = {"cancel": Action("POST", f"{base}/cancel", "Cancel this checkout")}
    if session.attempt < session.max_attempts:
        actions["resume"] = Action("POST", f"{base}/resume", "Try again")
    else:
        actions["startNew"] = START_NEW
    return actions


def terminal_error(session: CheckoutSession) -> ConflictError:
    """Return the error that refuses any transition out of a terminal session."""
    error_class = TERMINAL_ERRORS[session.status]
    return error_class(f"Session {session.id} is {session.status.value}.", actions={"startNew": START_NEW})


def is_due(session: CheckoutSession | SessionSnapshot, now: datetime) -> bool:
    """Tell whether time alone changes the session now (what :func:`observe` would store).

    Never while its payment is with the gateway (``processing``): the customer may have paid, so neither the
    attempt's deadline nor the session's expiry may give the payment up; the gateway's answer decides it.
    """
    if session.status in SESSION_TERMINAL or session.payment.status is PaymentStatus.PROCESSING:
        return False
    return now >= session.expires_at or (session.status is SessionStatus.ACTIVE and now >= session.attempt_deadline)


def interruption(session: CheckoutSession, at: datetime, kind: InterruptKind, detail: str | None) -> Transition:
    """Stop the current attempt (active → interrupted)."""
    session.status = SessionStatus.INTERRUPTED
    session.interrupted_at = at
    session.interrupt_kind = kind
    session.interrupt_detail = clip(detail)
    return Transition(SessionEventType.INTERRUPTED, at, SessionState.of(session), kind=kind, detail=clip(detail))


def ending(
    session: CheckoutSession,
    status: SessionStatus,
    at: datetime,
    payment_status: PaymentStatus,
    detail: str | None,
    *,
    gateway_payment_id: str | None = None,
    failure_code: str | None = None,
) -> Transition:
    """End the session; a payment no longer open (expired or failed meanwhile) is left as it is."""
    session.status = status
    session.ended_at = at
    decides_payment = payment_status is PaymentStatus.SUCCEEDED or session.payment.status in OPEN_PAYMENT_STATUSES
    return Transition(
        SessionEventType(status.value),
        at,
        SessionState.of(session),
        detail=detail,
        payment_status=payment_status if decides_payment else None,
        gateway_payment_id=gateway_payment_id,
        failure_code=failure_code,
    )


def processing_error(session: CheckoutSession) -> PaymentProcessingError:
    """The refusal of a change while the session's payment is with the gateway."""
    return PaymentProcessingError(
        f"The payment of session {session.id} is with the gateway: poll the session for the result.",
        actions={"poll": Action("GET", f"/sessions/{session.id}", "Check the session")},
    )
