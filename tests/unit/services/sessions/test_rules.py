"""The session state machine, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from litestar_payguard.exceptions import (
    MaxAttemptsReachedError,
    PaymentProcessingError,
    RetryTooSoonError,
    SessionCancelledError,
    SessionCompletedError,
    SessionExpiredError,
    SessionFailedError,
    SessionNotActiveError,
)
from litestar_payguard.gateways import GatewayStatus, PaymentOutcome
from litestar_payguard.models import (
    CODE_LENGTH,
    TEXT_LENGTH,
    CheckoutSession,
    InterruptKind,
    Payment,
    PaymentStatus,
    SessionEventType,
    SessionStatus,
)
from litestar_payguard.services.sessions import rules

T0 = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = rules.SessionPolicy(
    attempt_timeout=timedelta(seconds=30),
    retry_delay=timedelta(seconds=2),
    expiry=timedelta(minutes=15),
    max_attempts=3,
)


def make_session(**changes: object) -> CheckoutSession:
    payment = Payment(status=PaymentStatus.PENDING, amount=100, currency="USD", gateway="simulated")
    session = CheckoutSession(
        status=SessionStatus.ACTIVE,
        attempt=1,
        max_attempts=3,
        attempt_started_at=T0,
        attempt_deadline=T0 + timedelta(seconds=30),
        expires_at=T0 + timedelta(minutes=15),
        created_at=T0,
        payment=payment,
    )
    for name, value in changes.items():
        setattr(session, name, value)
    return session


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def events(decision: rules.Decision) -> list[SessionEventType]:
    return [transition.event for transition in decision.transitions]


def test_observe_changes_nothing_before_the_deadline() -> None:
    session = make_session()
    assert rules.observe(session, at(29.9)).transitions == []
    assert session.status is SessionStatus.ACTIVE


def test_observe_times_out_an_attempt_at_its_deadline() -> None:
    session = make_session()
    decision = rules.observe(session, at(45))
    assert events(decision) == [SessionEventType.INTERRUPTED]
    assert decision.transitions[0].at == at(30)
    assert decision.transitions[0].kind is InterruptKind.TIMEOUT
    assert (session.status, session.interrupted_at) == (SessionStatus.INTERRUPTED, at(30))


def test_observe_expires_and_cancels_the_payment() -> None:
    session = make_session(status=SessionStatus.INTERRUPTED, interrupted_at=at(5))
    decision = rules.observe(session, at(15 * 60))
    assert events(decision) == [SessionEventType.EXPIRED]
    assert decision.transitions[0].payment_status is PaymentStatus.CANCELLED
    assert (session.status, session.ended_at) == (SessionStatus.EXPIRED, at(15 * 60))


def test_an_active_session_past_expiry_times_out_then_expires() -> None:
    session = make_session()
    assert events(rules.observe(session, at(20 * 60))) == [SessionEventType.INTERRUPTED, SessionEventType.EXPIRED]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (SessionStatus.COMPLETED, SessionCompletedError),
        (SessionStatus.CANCELLED, SessionCancelledError),
        (SessionStatus.FAILED, SessionFailedError),
        (SessionStatus.EXPIRED, SessionExpiredError),
    ],
)
def test_terminal_sessions_refuse_interrupt_and_resume(status: SessionStatus, error: type[Exception]) -> None:
    for rule in (
        lambda s: rules.interrupt(s, at(1), InterruptKind.USER, None),
        lambda s: rules.resume(s, at(10), POLICY),
    ):
        session = make_session(status=status)
        decision = rule(session)
        assert isinstance(decision.error, error)
        assert decision.transitions == []
        assert session.status is status


def test_interrupt_moves_active_to_interrupted() -> None:
    session = make_session()
    decision = rules.interrupt(session, at(3), InterruptKind.NETWORK, "offline")
    assert decision.error is None
    assert (session.status, session.interrupt_kind, session.interrupt_detail) == (
        SessionStatus.INTERRUPTED,
        InterruptKind.NETWORK,
        "offline",
    )


def test_interrupt_of_an_interrupted_attempt_is_refused() -> None:
    session = make_session(status=SessionStatus.INTERRUPTED, interrupted_at=at(3), interrupt_kind=InterruptKind.USER)
    assert isinstance(rules.interrupt(session, at(4), InterruptKind.NETWORK, None).error, SessionNotActiveError)


def test_interrupt_after_the_deadline_keeps_the_timeout_as_the_cause() -> None:
    session = make_session()
    decision = rules.interrupt(session, at(40), InterruptKind.UNLOAD, None)
    assert decision.error is None
    assert session.interrupt_kind is InterruptKind.TIMEOUT


def test_resume_needs_the_retry_delay_since_the_interruption() -> None:
    session = make_session(status=SessionStatus.INTERRUPTED, interrupted_at=at(10), interrupt_kind=InterruptKind.USER)
    early = rules.resume(session, at(11.2), POLICY)
    assert isinstance(early.error, RetryTooSoonError)
    assert early.error.headers == {"Retry-After": "1"}
    assert session.attempt == 1

    decision = rules.resume(session, at(12), POLICY)
    assert decision.error is None
    assert events(decision) == [SessionEventType.RESUMED]
    assert (session.attempt, session.status, session.attempt_deadline) == (2, SessionStatus.ACTIVE, at(42))


def test_resume_of_an_active_attempt_supersedes_it() -> None:
    session = make_session()
    decision = rules.resume(session, at(5), POLICY)
    assert events(decision) == [SessionEventType.INTERRUPTED, SessionEventType.RESUMED]
    assert decision.transitions[0].kind is InterruptKind.USER


def test_the_attempt_deadline_never_passes_the_expiry() -> None:
    session = make_session(status=SessionStatus.INTERRUPTED, interrupted_at=at(880), interrupt_kind=InterruptKind.USER)
    rules.resume(session, at(890), POLICY)
    assert session.attempt_deadline == session.expires_at


def test_resume_after_the_last_attempt_fails_session_and_payment() -> None:
    session = make_session(attempt=3, status=SessionStatus.INTERRUPTED, interrupted_at=at(50))
    decision = rules.resume(session, at(60), POLICY)
    assert isinstance(decision.error, MaxAttemptsReachedError)
    assert events(decision) == [SessionEventType.FAILED]
    assert decision.transitions[0].payment_status is PaymentStatus.FAILED
    assert decision.transitions[0].failure_code == "max_attempts_reached"
    assert session.status is SessionStatus.FAILED


def test_expiry_wins_over_every_other_refusal() -> None:
    session = make_session(attempt=3, status=SessionStatus.INTERRUPTED, interrupted_at=at(50))
    decision = rules.resume(session, at(16 * 60), POLICY)
    assert isinstance(decision.error, SessionExpiredError)
    assert events(decision) == [SessionEventType.EXPIRED]


def test_a_successful_outcome_completes_and_captures() -> None:
    session = make_session(status=SessionStatus.INTERRUPTED, interrupted_at=at(31))
    assert rules.check_completable(session, at(40), "pay_1").error is None
    submitted = rules.submit(session, at(40), "pay_1")
    assert events(submitted) == [SessionEventType.SUBMITTED]
    assert submitted.transitions[0].payment_status is PaymentStatus.PROCESSING
    session.payment.status = PaymentStatus.PROCESSING
    decision = rules.apply_payment_outcome(
        session, at(41), PaymentOutcome(GatewayStatus.SUCCEEDED, gateway_payment_id="pay_1")
    )
    assert events(decision) == [SessionEventType.COMPLETED]
    transition = decision.transitions[0]
    assert (transition.payment_status, transition.gateway_payment_id) == (PaymentStatus.SUCCEEDED, "pay_1")


def test_a_repeated_completion_needs_nothing_from_the_gateway() -> None:
    session = make_session(status=SessionStatus.COMPLETED)
    session.payment.gateway_payment_id = "pay_1"
    same = rules.check_completable(session, at(50), "pay_1")
    other = rules.check_completable(session, at(50), "pay_2")
    assert (same.error, same.transitions) == (None, [])
    assert rules.is_repeat(session, "pay_1")
    assert isinstance(other.error, SessionCompletedError)


def test_while_the_gateway_confirms_nothing_else_changes_the_session() -> None:
    session = make_session()
    session.payment.status = PaymentStatus.PROCESSING
    session.payment.gateway_payment_id = "pay_1"
    assert not rules.is_due(session, at(16 * 60))  # neither the deadline nor the expiry gives the payment up
    assert rules.is_repeat(session, "pay_1")
    assert isinstance(rules.check_completable(session, at(5), "pay_2").error, PaymentProcessingError)
    assert isinstance(rules.cancel(session, at(5)).error, PaymentProcessingError)
    assert isinstance(rules.resume(session, at(5), POLICY).error, PaymentProcessingError)
    interrupted = rules.interrupt(session, at(5), InterruptKind.NETWORK, None)
    assert isinstance(interrupted.error, PaymentProcessingError)
    assert session.status is SessionStatus.ACTIVE


def test_a_decline_ends_the_attempt_and_reopens_the_payment() -> None:
    session = make_session()
    outcome = PaymentOutcome(
        GatewayStatus.FAILED, gateway_payment_id="p", failure_code="card_declined", failure_message="no"
    )
    decision = rules.apply_payment_outcome(session, at(5), outcome)
    assert decision.error is None
    assert events(decision) == [SessionEventType.INTERRUPTED]
    transition = decision.transitions[0]
    assert (transition.payment_status, transition.failure_code) == (PaymentStatus.PENDING, "card_declined")
    assert (session.status, session.interrupt_kind) == (SessionStatus.INTERRUPTED, InterruptKind.GATEWAY)


def test_cancel_is_idempotent_but_not_after_completion() -> None:
    session = make_session()
    assert events(rules.cancel(session, at(1))) == [SessionEventType.CANCELLED]
    again = rules.cancel(session, at(2))
    assert (again.error, again.transitions) == (None, [])
    assert isinstance(rules.cancel(make_session(status=SessionStatus.COMPLETED), at(1)).error, SessionCompletedError)


def test_the_deadline_itself_is_already_past() -> None:
    assert rules.observe(make_session(), at(29.999)).transitions == []
    assert events(rules.observe(make_session(), at(30))) == [SessionEventType.INTERRUPTED]
    assert rules.is_due(make_session(), at(30))
    assert not rules.is_due(make_session(), at(29.999))


def test_resume_during_the_last_attempt_is_refused_without_failing_anything() -> None:
    session = make_session(attempt=3, attempt_started_at=at(100), attempt_deadline=at(130))
    decision = rules.resume(session, at(110), POLICY)
    assert isinstance(decision.error, MaxAttemptsReachedError)
    assert decision.transitions == []
    assert (session.status, session.payment.status) == (SessionStatus.ACTIVE, PaymentStatus.PENDING)


def test_ending_a_session_leaves_a_payment_that_is_no_longer_open_alone() -> None:
    session = make_session()
    session.payment.status = PaymentStatus.EXPIRED  # expired meanwhile by the stale-payment cleanup
    decision = rules.cancel(session, at(5))
    assert events(decision) == [SessionEventType.CANCELLED]
    assert decision.transitions[0].payment_status is None


def test_each_transition_carries_the_state_right_after_it() -> None:
    session = make_session()
    decision = rules.observe(session, at(20 * 60))
    timeout, expiry = decision.transitions
    assert (timeout.state.status, timeout.state.ended_at) == (SessionStatus.INTERRUPTED, None)
    assert (expiry.state.status, expiry.state.ended_at) == (SessionStatus.EXPIRED, at(15 * 60))


def test_a_gateways_long_decline_text_is_cut_to_the_column_size() -> None:
    session = make_session()
    outcome = PaymentOutcome(
        GatewayStatus.FAILED, gateway_payment_id="p", failure_code="c" * 100, failure_message="m" * 900
    )
    decision = rules.apply_payment_outcome(session, at(5), outcome)
    assert session.interrupt_detail == "m" * TEXT_LENGTH
    assert decision.transitions[0].failure_code == "c" * CODE_LENGTH


def test_start_opens_attempt_one_within_the_lifetime() -> None:
    session = CheckoutSession(payment=Payment(status=PaymentStatus.PENDING))
    decision = rules.start(session, T0, POLICY)
    assert events(decision) == [SessionEventType.CREATED]
    assert (session.status, session.attempt, session.max_attempts) == (SessionStatus.ACTIVE, 1, 3)
    assert (session.attempt_deadline, session.expires_at) == (at(30), at(15 * 60))
