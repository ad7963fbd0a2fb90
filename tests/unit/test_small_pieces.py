"""Secrets, currencies, the simulated gateway, problem documents."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from litestar_payguard.currencies import UnsupportedCurrencyError, minor_unit_digits, normalize_currency
from litestar_payguard.gateways import PaymentConfirmation, SimulatedGateway
from litestar_payguard.problems import problem_body
from litestar_payguard.services.merchants import hash_secret, verify_secret


def test_secrets_are_salted_and_verified() -> None:
    first, second = hash_secret("s3cret"), hash_secret("s3cret")
    assert first != second
    assert "s3cret" not in first
    assert verify_secret("s3cret", first)
    assert not verify_secret("s3cret!", first)
    assert not verify_secret("s3cret", None)
    assert not verify_secret("s3cret", "md5$x$y")


@pytest.mark.parametrize(("code", "digits"), [("USD", 2), ("inr", 2), ("JPY", 0), ("KWD", 3)])
def test_currencies_have_minor_units(code: str, digits: int) -> None:
    assert minor_unit_digits(code) == digits
    assert normalize_currency(code) == code.upper()


@pytest.mark.parametrize("code", ["ZZZ", "XAU", "XTS", "US"])
def test_non_payable_codes_are_refused(code: str) -> None:
    with pytest.raises(UnsupportedCurrencyError):
        normalize_currency(code)


def _confirmation() -> PaymentConfirmation:
    return PaymentConfirmation(
        payment_id=uuid.uuid4(),
        amount=100,
        currency="USD",
        gateway_payment_id="pay_1",
        signature=None,
        idempotency_key="k",
    )


def test_the_simulated_gateway_answers_its_configured_outcome() -> None:
    assert asyncio.run(SimulatedGateway().confirm_payment(_confirmation())).succeeded
    declined = asyncio.run(SimulatedGateway(outcome="failure").confirm_payment(_confirmation()))
    assert (declined.succeeded, declined.failure_code) == (False, "card_declined")
    with pytest.raises(ValueError, match="outcome"):
        SimulatedGateway(outcome="maybe")  # type: ignore[arg-type]


def test_problem_documents_carry_a_stable_code_and_type() -> None:
    body = problem_body(status=409, code="SESSION_EXPIRED", title="t", detail="d", instance="/x", actions=None)
    assert body == {
        "type": "urn:payguard:problem:session-expired",
        "title": "t",
        "status": 409,
        "detail": "d",
        "code": "SESSION_EXPIRED",
        "instance": "/x",
    }
