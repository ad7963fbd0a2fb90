"""msgspec schemas of requests and responses (camelCase on the wire)."""

from litestar_payguard.models import DeliveryStatus, PaymentStatus, RefundStatus
from litestar_payguard.schemas.payments import Payment, PaymentBrief
from litestar_payguard.schemas.sessions import (
    ActiveSession,
    AttemptSummary,
    Interruption,
    Session,
    SessionComplete,
    SessionCreate,
    SessionInterrupt,
    SessionRequest,
    SessionSummary,
)

__all__ = (
    "ActiveSession",
    "AttemptSummary",
    "DeliveryStatus",
    "Interruption",
    "Payment",
    "PaymentBrief",
    "PaymentStatus",
    "RefundStatus",
    "Session",
    "SessionComplete",
    "SessionCreate",
    "SessionInterrupt",
    "SessionRequest",
    "SessionSummary",
)
