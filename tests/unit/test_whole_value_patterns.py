"""Schema patterns match the whole value: a trailing newline, which Python's ``$`` lets through, is refused."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from litestar_payguard.schemas.merchant import MerchantAccountUpdate, PaymentCreate
from litestar_payguard.schemas.sessions import SessionRequest
from litestar_payguard.schemas.webhooks import WebhookEndpointCreate

CASES: list[tuple[type[Any], dict[str, Any], str]] = [
    (SessionRequest, {"bundleId": "pro"}, "bundleId"),
    (SessionRequest, {"bundleId": "pro", "currency": "usd"}, "currency"),
    (SessionRequest, {"bundleId": "pro", "successUrl": "https://shop.example/done"}, "successUrl"),
    (MerchantAccountUpdate, {"allowedOrigins": ["https://shop.example"]}, "allowedOrigins"),
    (WebhookEndpointCreate, {"url": "https://hooks.example/in"}, "url"),
    (WebhookEndpointCreate, {"url": "https://hooks.example/in", "eventTypes": ["refund.*"]}, "eventTypes"),
]


def _with_newline(value: Any) -> Any:
    return [item + "\n" for item in value] if isinstance(value, list) else value + "\n"


@pytest.mark.parametrize(("struct", "body", "field"), CASES, ids=lambda case: getattr(case, "__name__", case))
def test_a_value_and_a_newline_is_refused(struct: type[Any], body: dict[str, Any], field: str) -> None:
    msgspec.convert(body, struct)  # the value itself is accepted
    with pytest.raises(msgspec.ValidationError, match="matching regex"):
        msgspec.convert({**body, field: _with_newline(body[field])}, struct)


def test_a_vpa_and_a_newline_is_refused() -> None:
    body = {"orderId": "o-1", "customerId": "c", "bundleId": "pro", "amount": 100, "currency": "INR", "method": "upi"}
    msgspec.convert({**body, "vpa": "alice@bank"}, PaymentCreate)
    with pytest.raises(msgspec.ValidationError, match="matching regex"):
        msgspec.convert({**body, "vpa": "alice@bank\n"}, PaymentCreate)
