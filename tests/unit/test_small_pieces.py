"""Secrets, currencies, the simulated gateway, problem documents."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from demo_app.settings import parse_delay
from litestar_payguard.currencies import UnsupportedCurrencyError, minor_unit_digits, normalize_currency
from litestar_payguard.gateways import (
    DECLINED_VPA,
    ChargeRequest,
    GatewayStatus,
    OrderRequest,
    RefundRequest,
    SimulatedGateway,
)
from litestar_payguard.problems import problem_body
from litestar_payguard.services.merchants import hash_secret, verify_secret
from litestar_payguard.services.processing.lease import MAX_BACKOFF, backoff


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


def _charge(vpa: str | None = None) -> ChargeRequest:
    payment_id = uuid.uuid4()
    return ChargeRequest(
        payment_id=payment_id,
        amount=100,
        currency="USD",
        gateway_order_id=f"sim_order_{payment_id.hex}",
        idempotency_key=f"payment:{payment_id}",
        method="upi" if vpa else None,
        method_details={"vpa": vpa} if vpa else {},
    )


def test_the_simulated_gateway_answers_its_configured_outcome_once_per_order() -> None:
    async def scenario() -> None:
        gateway = SimulatedGateway()
        request = _charge()
        first, again = await gateway.charge(request), await gateway.charge(request)
        assert first.succeeded
        assert again == first
        assert gateway.charges == {str(request.payment_id): 1}
        assert await gateway.fetch_status(request.gateway_order_id, None) == first
        declined = await SimulatedGateway(outcome="failure").charge(_charge())
        assert (declined.succeeded, declined.failure_code) == (False, "card_declined")
        assert (await gateway.charge(_charge(vpa=DECLINED_VPA))).status is GatewayStatus.FAILED
        assert await gateway.fetch_status("sim_order_unknown", None) is None

    asyncio.run(scenario())
    with pytest.raises(ValueError, match="outcome"):
        SimulatedGateway(outcome="maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delay_seconds"):
        SimulatedGateway(delay_seconds=(5, 1))


def test_the_simulated_gateway_refunds_within_what_it_captured() -> None:
    async def scenario() -> None:
        gateway = SimulatedGateway()
        charge = _charge()
        await gateway.create_order(
            OrderRequest(payment_id=charge.payment_id, amount=100, currency="USD", idempotency_key="o")
        )
        paid = await gateway.charge(charge)
        assert paid.gateway_payment_id is not None

        def refund(amount: int) -> RefundRequest:
            refund_id = uuid.uuid4()
            return RefundRequest(
                refund_id=refund_id,
                payment_id=charge.payment_id,
                gateway_payment_id=paid.gateway_payment_id or "",
                amount=amount,
                currency="USD",
                idempotency_key=f"refund:{refund_id}",
            )

        first = refund(60)
        assert (await gateway.refund(first)).status is GatewayStatus.SUCCEEDED
        assert (await gateway.refund(first)).status is GatewayStatus.SUCCEEDED  # a repeat moves nothing
        assert (await gateway.refund(refund(41))).status is GatewayStatus.FAILED
        assert (await gateway.refund(refund(40))).status is GatewayStatus.SUCCEEDED
        # Another worker process (or this one after a restart) has other books: it refunds what payguard asks.
        elsewhere = SimulatedGateway()
        assert (await elsewhere.refund(refund(30))).status is GatewayStatus.SUCCEEDED

    asyncio.run(scenario())


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


def test_retries_back_off_doubling_up_to_fifteen_minutes() -> None:
    assert [backoff(5, n).total_seconds() for n in (0, 1, 2, 3)] == [5, 5, 10, 20]
    assert backoff(10, 30) == MAX_BACKOFF == timedelta(minutes=15)


@pytest.mark.parametrize(("text", "delay"), [("0", 0.0), ("2.5", 2.5), ("5-10", (5.0, 10.0))])
def test_the_demos_delays_are_seconds_or_ranges(text: str, delay: object) -> None:
    assert parse_delay(text) == delay
    with pytest.raises(ValueError, match="could not convert"):
        parse_delay("soon")
