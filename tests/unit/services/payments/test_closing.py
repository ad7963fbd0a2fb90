"""The one closed-payment rule: a payment payguard closed unpaid is asked about again only if it has an order."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar_payguard.models import Payment, PaymentStatus
from litestar_payguard.services.payments import due_for_closed_check

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def closed(order_id: str | None) -> Payment:
    return Payment(status=PaymentStatus.EXPIRED, gateway_order_id=order_id, process_at=None, process_attempts=3)


def test_a_closed_payment_with_a_gateway_order_is_due_now_with_a_fresh_count() -> None:
    payment = closed("order_1")
    assert due_for_closed_check(payment, NOW) is True
    assert (payment.process_at, payment.process_attempts) == (NOW, 0)


def test_a_closed_payment_without_an_order_is_left_as_it_is() -> None:
    payment = closed(None)
    assert due_for_closed_check(payment, NOW) is False
    assert (payment.process_at, payment.process_attempts) == (None, 3)
