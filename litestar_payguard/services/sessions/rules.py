"""The checkout-session state machine, as pure functions over a session row.

Each function applies what the rules allow to the in-memory session and returns a :class:`Decision`: the
transitions that happened (to be logged and published by the service) and, when the request is refused,
the error to raise once those transitions are stored. Nothing here does I/O, so the whole machine is
tested without a database.

::

    active ⇄ interrupted → completed | cancelled | failed (attempts exhausted) | expired

Completing hands the customer's payment to the workers (``submitted``; the payment goes ``processing``); the
gateway's answer then completes the session, or ends the attempt as a ``gateway`` interruption.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from litestar_payguard.exceptions import MaxAttemptsReachedError, RetryTooSoonError, SessionNotActiveError
from litestar_payguard.gateways import PaymentOutcome
from litestar_payguard.models import (
    CODE_LENGTH,
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
from litestar_payguard.services.sessions.decisions import (
    START_NEW,
    Decision,
    SessionPolicy,
    Transition,
    actions_for,
    ending,
    interruption,
    is_due,
    processing_error,
    terminal_error,
)

__all__ = (  # with what the rules decide, for the services that apply them
    "Decision",
    "SessionPolicy",
    "Transition",
    "apply_payment_outcome",
    "apply_resolution",
    "cancel",
    "check_completable",
    "interrupt",
    "is_due",
    "is_repeat",
    "observe",
    "resume",
    "start",
    "submit",
    "terminal_error",
)


def start(session: CheckoutSession, now: datetime, policy: SessionPolicy) -> Decision:
    """Open a new session: attempt 1 starts now, with its deadline, inside the session's lifetime."""
    session.status = SessionStatus.ACTIVE
    session.attempt = 1
    session.max_attempts = policy.max_attempts
    session.expires_at = now + policy.expiry
    session.attempt_started_at = now
    session.attempt_deadline = min(now + policy.attempt_timeout, session.expires_at)
    return Decision([Transition(SessionEventType.CREATED, now, SessionState.of(session))])


def observe(session: CheckoutSession, now: datetime) -> Decision:
    """Apply what time alone decides: an attempt past its deadline timed out; a session past its expiry expired.

    Both are dated when they happened (the deadline, the expiry), not when they were noticed.
    """
    decision = Decision()
    if not is_due(session, now):
        return decision
    if session.status is SessionStatus.ACTIVE and now >= session.attempt_deadline:
        at = min(session.attempt_deadline, session.expires_at)
        decision.transitions.append(interruption(session, at, InterruptKind.TIMEOUT, "attempt deadline passed"))
    if now >= session.expires_at:
        decision.transitions.append(
            ending(session, SessionStatus.EXPIRED, session.expires_at, PaymentStatus.CANCELLED, "session expired")
        )
    return decision


def interrupt(session: CheckoutSession, now: datetime, kind: InterruptKind, detail: str | None) -> Decision:
    """Record that the current attempt stopped (active → interrupted)."""
    decision = observe(session, now)
    if session.status in SESSION_TERMINAL:
        return decision.refuse(terminal_error(session))
    if session.payment.status is PaymentStatus.PROCESSING:
        return decision.refuse(processing_error(session))
    if session.status is SessionStatus.INTERRUPTED:
        if decision.transitions:
            # The deadline passed before the client noticed: the timeout already ended this attempt.
            return decision
        return decision.refuse(
            SessionNotActiveError(
                f"Attempt {session.attempt} of session {session.id} is already interrupted.",
                actions=actions_for(session),
            )
        )
    decision.transitions.append(interruption(session, now, kind, detail))
    return decision


def retry_at(
    state: CheckoutSession | SessionSnapshot | SessionState, max_attempts: int, retry_delay: timedelta
) -> datetime | None:
    """When ``resume`` may start the next attempt; ``None`` when no attempt is left or the session has ended.

    The delay counts from the interruption, or from the start of the attempt ``resume`` would supersede: the one
    home of the retry delay, which :func:`resume` enforces (``RETRY_TOO_SOON``) and the view shows (``retryAt``).
    """
    if state.status not in {SessionStatus.ACTIVE, SessionStatus.INTERRUPTED} or state.attempt >= max_attempts:
        return None
    since = state.interrupted_at if state.status is SessionStatus.INTERRUPTED else state.attempt_started_at
    return None if since is None else since + retry_delay


def resume(session: CheckoutSession, now: datetime, policy: SessionPolicy) -> Decision:
    """Start the next attempt with a fresh deadline.

    Resuming an active session supersedes its attempt (logged as a ``user`` interruption). The minimum
    delay counts from the interruption, or from the start of an attempt that was never interrupted. Once the
    last attempt has ended, asking for another fails the session and its payment; while the last attempt is
    still running it is only refused, because that attempt may yet be paid at the gateway.
    """
    decision = observe(session, now)
    if session.status in SESSION_TERMINAL:
        return decision.refuse(terminal_error(session))
    if session.payment.status is PaymentStatus.PROCESSING:
        return decision.refuse(processing_error(session))
    if session.attempt >= session.max_attempts:
        if session.status is SessionStatus.ACTIVE:
            return decision.refuse(
                MaxAttemptsReachedError(
                    f"Attempt {session.attempt} of {session.max_attempts} is still in progress: complete it or "
                    "cancel the session.",
                    actions=actions_for(session),
                )
            )
        decision.transitions.append(
            ending(
                session,
                SessionStatus.FAILED,
                now,
                PaymentStatus.FAILED,
                "maximum attempts reached",
                failure_code="max_attempts_reached",
            )
        )
        return decision.refuse(
            MaxAttemptsReachedError(
                f"All {session.max_attempts} attempts of session {session.id} are used.",
                actions={"startNew": START_NEW},
            )
        )
    allowed_at = retry_at(session, session.max_attempts, policy.retry_delay)
    assert allowed_at is not None  # an open session with an attempt left, and interrupted ones have interrupted_at
    wait = (allowed_at - now).total_seconds()
    if wait > 0:
        seconds = math.ceil(wait)
        return decision.refuse(
            RetryTooSoonError(
                f"Wait {seconds} s before the next attempt.",
                headers={"Retry-After": str(seconds)},
                extra={"retryAfterSeconds": seconds},
            )
        )
    if session.status is SessionStatus.ACTIVE:
        decision.transitions.append(interruption(session, now, InterruptKind.USER, "superseded by a new attempt"))
    session.attempt += 1
    session.status = SessionStatus.ACTIVE
    session.attempt_started_at = now
    session.attempt_deadline = min(now + policy.attempt_timeout, session.expires_at)
    decision.transitions.append(Transition(SessionEventType.RESUMED, now, SessionState.of(session)))
    return decision


def check_completable(session: CheckoutSession, now: datetime, gateway_payment_id: str) -> Decision:
    """Decide whether the customer's payment can be handed to the gateway.

    Returns a decision without error when it can. Reporting the same gateway payment again (the session is
    completed with it, or its payment is being confirmed) is a repeat: the caller returns the session unchanged.
    """
    decision = observe(session, now)
    if is_repeat(session, gateway_payment_id):
        return decision
    if session.status in SESSION_TERMINAL:
        return decision.refuse(terminal_error(session))
    if session.payment.status is PaymentStatus.PROCESSING:
        return decision.refuse(processing_error(session))
    return decision


def is_repeat(session: CheckoutSession, gateway_payment_id: str) -> bool:
    """Whether completing with this gateway payment was already done (see :func:`check_completable`)."""
    payment = session.payment
    return payment.gateway_payment_id == gateway_payment_id and (
        session.status is SessionStatus.COMPLETED or payment.status is PaymentStatus.PROCESSING
    )


def submit(session: CheckoutSession, now: datetime, gateway_payment_id: str) -> Decision:
    """Hand the customer's payment to the workers: the payment goes ``processing``; the attempt goes on."""
    return Decision(
        [
            Transition(
                SessionEventType.SUBMITTED,
                now,
                SessionState.of(session),
                payment_status=PaymentStatus.PROCESSING,
                gateway_payment_id=gateway_payment_id,
            )
        ]
    )


def apply_payment_outcome(session: CheckoutSession, now: datetime, outcome: PaymentOutcome) -> Decision:
    """Apply the gateway's final answer: success completes the session; a decline ends the attempt.

    A declined attempt is recorded as a ``gateway`` interruption and the payment is open again (``pending``),
    so the customer can resume with another attempt while attempts remain.
    """
    decision = Decision()
    if outcome.succeeded:
        decision.transitions.append(
            ending(
                session,
                SessionStatus.COMPLETED,
                now,
                PaymentStatus.SUCCEEDED,
                None,
                gateway_payment_id=outcome.gateway_payment_id,
            )
        )
        return decision
    message = clip(outcome.failure_message) or "The gateway declined the payment."
    stopped = interruption(session, now, InterruptKind.GATEWAY, message)
    decision.transitions.append(
        Transition(
            stopped.event,
            stopped.at,
            stopped.state,
            kind=stopped.kind,
            detail=stopped.detail,
            payment_status=PaymentStatus.PENDING,
            failure_code=clip(outcome.failure_code, CODE_LENGTH) or "declined",
        )
    )
    return decision


def apply_resolution(session: CheckoutSession, now: datetime, outcome: PaymentOutcome) -> Decision:
    """A person resolved the session's flagged payment: a success completes the session, a failure ends it.

    Unlike a gateway's decline (:func:`apply_payment_outcome`), a failure here is final: the person decided that no
    money stays with the merchant, so the customer starts a new checkout rather than trying again on this one.
    """
    decision = Decision()
    if outcome.succeeded:
        status, payment_status = SessionStatus.COMPLETED, PaymentStatus.SUCCEEDED
    else:
        status, payment_status = SessionStatus.FAILED, PaymentStatus.FAILED
    decision.transitions.append(
        ending(
            session,
            status,
            now,
            payment_status,
            None if outcome.succeeded else clip(outcome.failure_message),
            gateway_payment_id=outcome.gateway_payment_id,
            failure_code=None if outcome.succeeded else clip(outcome.failure_code, CODE_LENGTH),
        )
    )
    return decision


def cancel(session: CheckoutSession, now: datetime) -> Decision:
    """Cancel the session and its payment; cancelling a cancelled session changes nothing."""
    decision = observe(session, now)
    if session.status is SessionStatus.CANCELLED:
        return decision
    if session.status in SESSION_TERMINAL:
        return decision.refuse(terminal_error(session))
    if session.payment.status is PaymentStatus.PROCESSING:
        return decision.refuse(processing_error(session))
    decision.transitions.append(ending(session, SessionStatus.CANCELLED, now, PaymentStatus.CANCELLED, None))
    return decision
