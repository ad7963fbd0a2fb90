"""The price of a session a customer asks for (the host's, never the client's), or the merchant API does."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from litestar_payguard.exceptions import (
    Action,
    ConflictError,
    NotFoundError,
    PayGuardError,
    ValidationFailedError,
)
from litestar_payguard.schemas.sessions import SessionCreate, SessionRequest

if TYPE_CHECKING:
    from litestar_payguard.pricing import Pricer
    from litestar_payguard.schemas.sessions import CheckoutSessionCreate

__all__ = (
    "BundleNotFoundError",
    "PriceChangedError",
    "PricingNotConfiguredError",
    "merchant_session",
    "session_at_price",
)


class PriceChangedError(ConflictError):
    """The amount or currency the client expected is not the bundle's price (``price`` says what it is)."""

    code = "PRICE_CHANGED"
    title = "Price changed"


class BundleNotFoundError(NotFoundError):
    """The host's pricing hook does not sell this bundle."""

    code = "BUNDLE_NOT_FOUND"
    title = "Bundle not found"


class PricingNotConfiguredError(PayGuardError):
    """The host set no pricing hook, so no customer can open a session (fail closed)."""

    status_code = 403
    code = "PRICING_NOT_CONFIGURED"
    title = "Pricing not configured"


async def session_at_price(
    request: SessionRequest, pricer: Pricer | None, *, trust_client_prices: bool
) -> SessionCreate:
    """Return the session to open for a customer's request: at the price the host's pricing hook answers.

    The client's ``amount`` and ``currency`` are only what it expects to pay; with ``trust_client_prices`` (and
    no hook) they are the price.

    Raises:
        PricingNotConfiguredError: No hook, and client prices are not trusted.
        ValidationFailedError: Client prices are trusted and the request lacks ``amount`` or ``currency``.
        BundleNotFoundError: The hook answered ``None``.
        PriceChangedError: The client expected another amount or currency.
    """
    if pricer is None:
        if not trust_client_prices:
            msg = (
                "This shop sets no prices for checkout sessions: the host must configure PayGuardConfig.pricing "
                "before customers can open them."
            )
            raise PricingNotConfiguredError(msg)
        return _at_client_price(request)
    price = await pricer(request.bundle_id, request.plan_name)
    if price is None:
        msg = f"No bundle {request.bundle_id!r} is for sale."
        raise BundleNotFoundError(msg, extra={"field": "bundleId"})
    currency = price.currency
    if (request.amount is not None and request.amount != price.amount) or (
        request.currency is not None and request.currency.upper() != currency
    ):
        msg = (
            f"{request.bundle_id!r} costs {price.amount} {currency} (minor units), not what the client expected: "
            "show the customer the current price and send it again."
        )
        raise PriceChangedError(
            msg,
            actions={"acceptPrice": Action("POST", "/sessions", "Check out at the current price")},
            extra={"price": {"amount": price.amount, "currency": currency, "displayName": price.display_name}},
        )
    return SessionCreate(
        bundle_id=request.bundle_id,
        amount=price.amount,
        currency=currency,
        plan_name=price.display_name or request.plan_name,  # the label of what is charged is the host's
        metadata=request.metadata,
        success_url=request.success_url,
        cancel_url=request.cancel_url,
    )


async def merchant_session(request: CheckoutSessionCreate, pricer: Pricer | None) -> SessionCreate:
    """Return the session the merchant API asks for: at its own price, or (without one) at the pricing hook's.

    Raises:
        ValidationFailedError: Only one of ``amount`` and ``currency``.
        PricingNotConfiguredError: No price given, and no hook.
        BundleNotFoundError: The hook answered ``None``.
    """
    fields = msgspec.structs.asdict(request)
    del fields["customer_id"]
    if request.amount is None and request.currency is None:
        return await session_at_price(SessionRequest(**fields), pricer, trust_client_prices=False)
    return _at_client_price(SessionRequest(**fields))


def _at_client_price(request: SessionRequest) -> SessionCreate:
    missing = [name for name, value in (("amount", request.amount), ("currency", request.currency)) if value is None]
    if request.amount is None or request.currency is None:
        raise ValidationFailedError(
            "The input does not match the expected schema.",
            extra={
                "errors": [
                    {"field": name, "source": "body", "message": f"Object missing required field `{name}`"}
                    for name in missing
                ]
            },
        )
    return SessionCreate(
        bundle_id=request.bundle_id,
        amount=request.amount,
        currency=request.currency,
        plan_name=request.plan_name,
        metadata=request.metadata,
        success_url=request.success_url,
        cancel_url=request.cancel_url,
    )
