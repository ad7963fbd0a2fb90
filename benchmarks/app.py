"""The application the benchmarks serve: payguard plus bare baseline endpoints on the same database pool.

Configured from ``BENCH_DATABASE_URL`` and ``BENCH_REDIS_URL``; served by uvicorn in its own process.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from advanced_alchemy.extensions.litestar import EngineConfig, SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, Request, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from litestar_payguard import PayGuardConfig, PayGuardPlugin, Price
from litestar_payguard.models import (
    OPEN_PAYMENT_STATUSES,
    CheckoutSession,
    Merchant,
    OutboxEvent,
    Payment,
    PaymentMode,
    PaymentStatus,
    SessionEvent,
    SessionEventType,
    SessionStatus,
)

BARE_TABLE = """
CREATE TABLE IF NOT EXISTS bench_row (
    id uuid PRIMARY KEY,
    customer_id varchar(255) NOT NULL,
    amount bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


@post("/bare/rows", status_code=201)
async def bare_insert(db_session: NamedDependency[AsyncSession]) -> dict[str, str]:
    """Baseline: one INSERT, one COMMIT."""
    row_id = uuid.uuid4()
    await db_session.execute(
        text("INSERT INTO bench_row (id, customer_id, amount) VALUES (:id, :customer, :amount)"),
        {"id": row_id, "customer": "bench", "amount": 4900},
    )
    await db_session.commit()
    return {"id": str(row_id)}


@get("/bare/rows/{row_id:str}")
async def bare_select(row_id: FromPath[str], db_session: NamedDependency[AsyncSession]) -> dict[str, Any]:
    """Baseline: one SELECT by primary key."""
    row = (
        await db_session.execute(
            text("SELECT id, customer_id, amount, created_at FROM bench_row WHERE id = :id"), {"id": uuid.UUID(row_id)}
        )
    ).one()
    return {"id": str(row.id), "customerId": row.customer_id, "amount": row.amount, "createdAt": row.created_at}


class SessionBody(msgspec.Struct, rename="camel"):
    """What a checkout page sends: the bundle, and the price it expects to pay."""

    bundle_id: str
    amount: int
    currency: str


PRICE = 4900
STALE_AFTER = timedelta(hours=2)  # the payguard app's stale_pending_seconds
ATTEMPT_TIMEOUT = timedelta(hours=1)  # the payguard app's attempt_timeout_seconds
SESSION_EXPIRY = timedelta(hours=2)  # the payguard app's session_expiry_seconds
MAX_ATTEMPTS = 3
RETRY_DELAY = timedelta(seconds=2)
_merchant: list[uuid.UUID] = []
"""The merchant's id, read on the first request: the rows need one, a team without tenants has it in its config."""


def _payment_payload(payment: Payment) -> dict[str, Any]:
    return {
        "id": str(payment.id),
        "status": payment.status.value,
        "customerId": payment.customer_id,
        "bundleId": payment.bundle_id,
        "planName": payment.plan_name,
        "amount": payment.amount,
        "currency": payment.currency,
        "amountRefunded": payment.amount_refunded,
        "mode": payment.mode.value,
        "gateway": payment.gateway,
        "gatewayPaymentId": payment.gateway_payment_id,
        "failureCode": payment.failure_code,
        "failureMessage": payment.failure_message,
        "metadata": payment.extra,
        "createdAt": payment.created_at.isoformat(),
        "orderId": payment.order_id,
        "method": payment.method,
        "gatewayOrderId": payment.gateway_order_id,
        "amountRefunding": payment.amount_refunding,
        "needsAttention": payment.needs_attention,
        "attentionReason": payment.attention_reason,
    }


def _session_payload(session: CheckoutSession, payment: Payment) -> dict[str, Any]:
    return {
        "id": str(session.id),
        "status": session.status.value,
        "bundleId": payment.bundle_id,
        "planName": payment.plan_name,
        "attempt": session.attempt,
        "maxAttempts": session.max_attempts,
        "attemptDeadline": session.attempt_deadline.isoformat(),
        "expiresAt": session.expires_at.isoformat(),
        "lastInterruption": None,
        "payment": {
            "id": str(payment.id),
            "amount": payment.amount,
            "currency": payment.currency,
            "status": payment.status.value,
            "gatewayPaymentId": payment.gateway_payment_id,
            "failureCode": payment.failure_code,
        },
        "metadata": payment.extra,
        "createdAt": session.created_at.isoformat(),
        "endedAt": None,
        "successUrl": session.success_url,
        "cancelUrl": session.cancel_url,
        "retryAt": (session.attempt_started_at + RETRY_DELAY).isoformat(),
    }


def _event(payment: Payment, type_: str, subject: uuid.UUID, payload: dict[str, Any], now: datetime) -> OutboxEvent:
    return OutboxEvent(
        merchant_id=payment.merchant_id,
        type=type_,
        subject_id=subject,
        payload=payload,
        occurred_at=now,
        created_at=now,
    )


@post("/bare/sessions", status_code=201)
async def bare_session(
    data: SessionBody, request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
) -> dict[str, Any]:
    """Baseline: ``POST /payguard/sessions`` as a team writes it without payguard, on payguard's tables.

    The same work in one transaction: the pending-payment guard (the customer's open payments locked with
    ``SELECT … FOR UPDATE``, a stale one of the bundle expired with its event, a fresh one a 409), then the same
    rows: the payment, the session, the first entry of its log and two outbox events. No tenants (one merchant,
    read once), no idempotency, no pricing hook.
    """
    customer_id = request.headers["x-customer"]
    if (data.amount, data.currency) != (PRICE, "USD"):
        raise HTTPException(status_code=409, detail="price changed")
    if not _merchant:  # the payguard app's default merchant, made by the runner's seeding: the same tenant's rows
        _merchant.append(await db_session.scalar(select(Merchant.id).where(Merchant.api_key == "bench")))
    now = datetime.now(UTC)
    open_payments = await db_session.execute(
        select(Payment, CheckoutSession.id)
        .outerjoin(CheckoutSession, CheckoutSession.payment_id == Payment.id)
        .where(
            Payment.merchant_id == _merchant[0],
            Payment.customer_id == customer_id,
            Payment.status.in_(OPEN_PAYMENT_STATUSES),
        )
        .order_by(Payment.created_at, Payment.id)
        .with_for_update(of=Payment)
    )
    for found, _ in open_payments.all():
        if found.bundle_id != data.bundle_id:
            continue
        if found.status is not PaymentStatus.PENDING or now - found.created_at < STALE_AFTER:
            raise HTTPException(status_code=409, detail="pending payment for this bundle")
        found.status, found.failure_code = PaymentStatus.EXPIRED, "stale"
        db_session.add(_event(found, "payment.expired", found.id, _payment_payload(found), now))
    payment = Payment(
        id=uuid.uuid4(),
        merchant_id=_merchant[0],
        customer_id=customer_id,
        bundle_id=data.bundle_id,
        amount=data.amount,
        currency=data.currency,
        status=PaymentStatus.PENDING,
        mode=PaymentMode.TEST,
        gateway="simulated",
        amount_refunded=0,
        amount_refunding=0,
        extra={},
        method_details={},
        process_attempts=0,
        fulfilment_attempts=0,
        needs_attention=False,
        created_at=now,
        updated_at=now,
    )
    secret = secrets.token_urlsafe(24)
    session = CheckoutSession(
        id=uuid.uuid4(),
        merchant_id=payment.merchant_id,
        customer_id=customer_id,
        payment_id=payment.id,
        status=SessionStatus.ACTIVE,
        attempt=1,
        max_attempts=MAX_ATTEMPTS,
        attempt_started_at=now,
        attempt_deadline=now + ATTEMPT_TIMEOUT,
        expires_at=now + SESSION_EXPIRY,
        client_secret_hash="sha256$" + hashlib.sha256(secret.encode()).hexdigest(),
        created_at=now,
        updated_at=now,
    )
    session_payload = _session_payload(session, payment)
    db_session.add_all(
        [
            payment,
            session,
            SessionEvent(session_id=session.id, type=SessionEventType.CREATED, attempt=1, occurred_at=now),
            _event(payment, "payment.created", payment.id, _payment_payload(payment), now),
            _event(payment, "session.created", session.id, session_payload, now),
        ]
    )
    try:
        await db_session.commit()
    except IntegrityError as exc:  # the open-bundle index: a concurrent request opened one first
        raise HTTPException(status_code=409, detail="pending payment for this bundle") from exc
    return {**session_payload, "clientSecret": secret}


def customer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    return connection.headers.get("x-customer")


def price(_bundle_id: str, _plan_name: str | None, _connection: ASGIConnection[Any, Any, Any, Any]) -> Price:
    """Every bundle costs what the benchmark clients expect (the bare endpoints store the same amount)."""
    return Price(amount=4900, currency="USD")


def create_app() -> Litestar:
    db = SQLAlchemyAsyncConfig(
        connection_string=os.environ["BENCH_DATABASE_URL"],
        engine_config=EngineConfig(pool_size=20, max_overflow=10),
    )
    payguard = PayGuardConfig(
        queue_url=os.environ["BENCH_REDIS_URL"],
        customer_id=customer,
        pricing=price,
        default_merchant_key="bench",
        admin_enabled=False,
        # Polls in the benchmark stay inside the attempt: the measured status path is the read-only one.
        attempt_timeout_seconds=3600,
        session_expiry_seconds=7200,
        stale_pending_seconds=7200,
    )
    return Litestar(
        route_handlers=[bare_insert, bare_select, bare_session],
        plugins=[SQLAlchemyPlugin(db), PayGuardPlugin(payguard)],
    )


def create_app_with_asgi_idempotency_header() -> Any:
    """The same app wrapped in ``asgi-idempotency-header`` (in-memory backend), keyed by ``X-Aih-Key``.

    Its Redis backend needs ``redis<5``, which SAQ's Redis client excludes, so only the in-memory backend runs
    beside payguard; a different header name keeps it out of payguard's own ``Idempotency-Key`` path.
    """
    from idempotency_header_middleware import IdempotencyHeaderMiddleware  # noqa: PLC0415  # bench group only
    from idempotency_header_middleware.backends import MemoryBackend  # noqa: PLC0415

    return IdempotencyHeaderMiddleware(
        app=create_app(), backend=MemoryBackend(), idempotency_header_key="X-Aih-Key", applicable_methods=["POST"]
    )
