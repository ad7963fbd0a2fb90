"""Status enums; each has a ``TERMINAL`` set beside it."""

from __future__ import annotations

from enum import StrEnum

__all__ = (
    "CLOSED_UNPAID",
    "OPEN_PAYMENT_STATUSES",
    "REFUNDABLE_PAYMENT_STATUSES",
    "SESSION_TERMINAL",
    "CleanupTrigger",
    "IdempotencyStatus",
    "InterruptKind",
    "PaymentMode",
    "PaymentStatus",
    "RefundStatus",
    "SessionEventType",
    "SessionStatus",
)


class PaymentStatus(StrEnum):
    """Lifecycle of a payment."""

    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


OPEN_PAYMENT_STATUSES = frozenset({PaymentStatus.PENDING, PaymentStatus.PROCESSING})
"""Payments still waiting for money to move."""
CLOSED_UNPAID = frozenset({PaymentStatus.CANCELLED, PaymentStatus.EXPIRED, PaymentStatus.FAILED})
"""Payments payguard closed without money; a capture reported for one of them needs a person."""
REFUNDABLE_PAYMENT_STATUSES = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED})
"""Payments whose captured money can (still) be given back."""


class PaymentMode(StrEnum):
    """Whether a payment moves real money; fixed when it is created, from its merchant's ``test_mode``."""

    TEST = "test"
    """Through the deployment's test gateway (``PayGuardConfig.test_gateway``): no real money."""
    LIVE = "live"
    """Through its live gateway (``PayGuardConfig.live_gateway``)."""


class RefundStatus(StrEnum):
    """Lifecycle of a refund."""

    PENDING = "pending"
    PROCESSED = "processed"
    FAILED = "failed"


class SessionStatus(StrEnum):
    """Lifecycle of a checkout session."""

    ACTIVE = "active"
    INTERRUPTED = "interrupted"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    EXPIRED = "expired"


SESSION_TERMINAL = frozenset(
    {SessionStatus.COMPLETED, SessionStatus.CANCELLED, SessionStatus.FAILED, SessionStatus.EXPIRED}
)
"""Session statuses nothing leaves."""


class InterruptKind(StrEnum):
    """Why an attempt stopped before completing."""

    TIMEOUT = "timeout"
    NETWORK = "network"
    GATEWAY = "gateway"
    UNLOAD = "unload"
    USER = "user"


class SessionEventType(StrEnum):
    """Entries of a session's append-only log; one per transition."""

    CREATED = "created"
    """Attempt 1 started."""
    INTERRUPTED = "interrupted"
    RESUMED = "resumed"
    """Attempt n > 1 started."""
    SUBMITTED = "submitted"
    """The customer reported paying; the payment went to the workers to be confirmed with the gateway."""
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    EXPIRED = "expired"


class IdempotencyStatus(StrEnum):
    """Lifecycle of an idempotency key."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


class CleanupTrigger(StrEnum):
    """What started a run of the stale-payment cleanup."""

    CRON = "cron"
    """The schedule (``PayGuardConfig.stale_cleanup_cron``)."""
    MANUAL = "manual"
    """An admin (``POST /admin/cleanup/force``)."""
    CUSTOMER = "customer"
    """A customer cleaning up their own stale payments (``POST /pending/cleanup-stale``)."""
