"""Razorpay's signatures: Checkout's payment signature, the webhook signature, the constant-time compare."""

from __future__ import annotations

import pytest

from litestar_payguard.gateways.razorpay import RazorpayGateway
from litestar_payguard.gateways.razorpay_webhooks import checkout_signature, signatures_match, webhook_signature

# Expected values computed independently with ``openssl dgst -sha256 -hmac``.
KEY_SECRET = "EnLs21M47BllR3X8PSFtjtbd"
CHECKOUT_HEX = "c3e81746f12d7d545f663de64490710d97122c90fab3a372c59987ebf8585afe"
WEBHOOK_SECRET = "whsec_Test123"
WEBHOOK_BODY = b'{"entity":"event","event":"payment.captured"}'
WEBHOOK_HEX = "ad108b63244de502d01dbe7a2dd8addf60d984f2834a9e0cd1168ae01b1863c8"


def test_checkout_signature_is_hmac_sha256_of_order_and_payment() -> None:
    assert checkout_signature(KEY_SECRET, "order_IluGWxBm9U8zJ8", "pay_IluGXwYXNR9m5R") == CHECKOUT_HEX


def test_webhook_signature_is_hmac_sha256_of_the_raw_body() -> None:
    assert webhook_signature(WEBHOOK_SECRET, WEBHOOK_BODY) == WEBHOOK_HEX
    assert webhook_signature(WEBHOOK_SECRET, WEBHOOK_BODY + b" ") != WEBHOOK_HEX


@pytest.mark.parametrize(
    ("given", "matches"),
    [
        (WEBHOOK_HEX, True),
        (f" {WEBHOOK_HEX}\n", True),
        (WEBHOOK_HEX.upper(), False),
        (WEBHOOK_HEX[:-1] + "0", False),
        ("", False),
        (None, False),
        ("é" * 64, False),
    ],
)
def test_signatures_match_only_the_exact_hex(given: str | None, matches: bool) -> None:
    assert signatures_match(WEBHOOK_HEX, given) is matches


def test_the_gateway_verifies_checkout_signatures_with_its_key_secret() -> None:
    gateway = RazorpayGateway("rzp_test_x", KEY_SECRET, WEBHOOK_SECRET)
    assert gateway.verify_client_signature("order_IluGWxBm9U8zJ8", "pay_IluGXwYXNR9m5R", CHECKOUT_HEX)
    assert not gateway.verify_client_signature("order_other00000000", "pay_IluGXwYXNR9m5R", CHECKOUT_HEX)
    assert not gateway.verify_client_signature("order_IluGWxBm9U8zJ8", "pay_IluGXwYXNR9m5R", None)
    other = RazorpayGateway("rzp_test_x", "another-secret", WEBHOOK_SECRET)
    assert not other.verify_client_signature("order_IluGWxBm9U8zJ8", "pay_IluGXwYXNR9m5R", CHECKOUT_HEX)


def test_the_gateway_refuses_missing_credentials() -> None:
    with pytest.raises(ValueError, match="key secret"):
        RazorpayGateway("rzp_test_x", "", WEBHOOK_SECRET)
    with pytest.raises(ValueError, match="timeout"):
        RazorpayGateway("rzp_test_x", KEY_SECRET, WEBHOOK_SECRET, timeout_seconds=0)
