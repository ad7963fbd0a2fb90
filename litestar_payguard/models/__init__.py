"""SQLAlchemy models; every table is prefixed ``payguard_``."""

from litestar_payguard.models.base import CODE_LENGTH, TEXT_LENGTH, URL_LENGTH, PayGuardModel, clip
from litestar_payguard.models.cleanup import CleanupRun, JobControl
from litestar_payguard.models.enums import (
    CLOSED_UNPAID,
    OPEN_PAYMENT_STATUSES,
    REFUNDABLE_PAYMENT_STATUSES,
    SESSION_TERMINAL,
    CleanupTrigger,
    IdempotencyStatus,
    InterruptKind,
    PaymentMode,
    PaymentStatus,
    RefundStatus,
    SessionEventType,
    SessionStatus,
)
from litestar_payguard.models.event import OutboxEvent
from litestar_payguard.models.gateway_event import GatewayEvent
from litestar_payguard.models.idempotency import IdempotencyKey
from litestar_payguard.models.merchant import Merchant
from litestar_payguard.models.payment import Payment
from litestar_payguard.models.refund import Refund
from litestar_payguard.models.session import CheckoutSession, SessionEvent
from litestar_payguard.models.snapshot import PaymentSnapshot, SessionSnapshot, SessionState
from litestar_payguard.models.webhook import (
    DELIVERY_TERMINAL,
    RESPONSE_BODY_LENGTH,
    AttemptErrorKind,
    AttemptTrigger,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

__all__ = (
    "CLOSED_UNPAID",
    "CODE_LENGTH",
    "DELIVERY_TERMINAL",
    "OPEN_PAYMENT_STATUSES",
    "REFUNDABLE_PAYMENT_STATUSES",
    "RESPONSE_BODY_LENGTH",
    "SESSION_TERMINAL",
    "TEXT_LENGTH",
    "URL_LENGTH",
    "AttemptErrorKind",
    "AttemptTrigger",
    "CheckoutSession",
    "CleanupRun",
    "CleanupTrigger",
    "DeliveryStatus",
    "GatewayEvent",
    "IdempotencyKey",
    "IdempotencyStatus",
    "InterruptKind",
    "JobControl",
    "Merchant",
    "OutboxEvent",
    "PayGuardModel",
    "Payment",
    "PaymentMode",
    "PaymentSnapshot",
    "PaymentStatus",
    "Refund",
    "RefundStatus",
    "SessionEvent",
    "SessionEventType",
    "SessionSnapshot",
    "SessionState",
    "SessionStatus",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "clip",
)
