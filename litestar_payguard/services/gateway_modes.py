"""Which gateway moves a merchant's or a payment's money: test-mode merchants the test gateway, live ones the live.

The one place that picks a gateway. A payment records its mode and its gateway's name when it is made; every
later call for it (order, charge, status, refund) goes to the deployment's gateway of that mode, and only while
that gateway still has the recorded name. A name alone would not do: Razorpay's test and live keys are both
``razorpay``. An inbound webhook's signature tells which of the gateways of its name sent it, and so the mode of
the payments it may touch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from litestar_payguard.exceptions import ConflictError, InvalidSignatureError
from litestar_payguard.models import Merchant, PaymentMode

if TYPE_CHECKING:
    from collections.abc import Mapping
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig
    from litestar_payguard.gateways import Gateway, GatewayWebhook

__all__ = (
    "GatewayNotConfiguredError",
    "gateway_for",
    "merchant_gateway",
    "payment_gateway",
    "verify_webhook",
)


class GatewayNotConfiguredError(ConflictError):
    """The deployment has no gateway of this mode (a live merchant, no live gateway), or not the payment's one."""

    code = "GATEWAY_NOT_CONFIGURED"
    title = "Gateway not configured"


def gateway_for(config: PayGuardConfig, mode: PaymentMode) -> Gateway:
    """The deployment's gateway for payments of this mode.

    Raises:
        GatewayNotConfiguredError: A live payment in a deployment without ``live_gateway``: it is never sent to
            the test gateway, which would report it paid with no money captured.
    """
    if mode is PaymentMode.TEST:
        return config.test_gateway
    if config.live_gateway is None:
        msg = "This merchant is live and the deployment has no live gateway (PayGuardConfig.live_gateway)."
        raise GatewayNotConfiguredError(msg, extra={"mode": mode.value})
    return config.live_gateway


def payment_gateway(config: PayGuardConfig, mode: PaymentMode, name: str) -> Gateway:
    """The gateway a payment of this mode, made with the gateway ``name``, must use from now on.

    Raises:
        GatewayNotConfiguredError: The deployment has no gateway of the mode, or its gateway of the mode is another
            one than the payment was made with (the configuration changed since): nothing is sent to it.
    """
    gateway = gateway_for(config, mode)
    if gateway.name != name:
        msg = (
            f"This {mode.value} payment was made with the {name} gateway; the deployment's {mode.value} gateway is "
            f"{gateway.name} now."
        )
        raise GatewayNotConfiguredError(msg, extra={"mode": mode.value, "gateway": name})
    return gateway


def verify_webhook(
    config: PayGuardConfig, name: str, headers: Mapping[str, str], body: bytes
) -> tuple[list[PaymentMode], GatewayWebhook] | None:
    """Verify an inbound webhook with each configured gateway called ``name``: the modes it is signed for, and it.

    Test and live keys of one gateway share its name, and their webhook secrets tell them apart: a webhook may
    touch only payments of the mode whose secret signed it. One secret set for both would verify for both modes;
    the event is then matched by the gateway's ids (unique across its test and live accounts) among either's.

    Returns:
        ``None`` when no configured gateway has this name.

    Raises:
        InvalidSignatureError: No gateway of the name verifies the signature (or the body is not an event).
    """
    configured = [(PaymentMode.LIVE, config.live_gateway), (PaymentMode.TEST, config.test_gateway)]
    named = [(mode, gateway) for mode, gateway in configured if gateway is not None and gateway.name == name]
    if not named:
        return None
    modes: list[PaymentMode] = []
    webhook: GatewayWebhook | None = None
    refused: InvalidSignatureError | None = None
    for mode, gateway in named:
        try:
            webhook = gateway.parse_webhook(headers, body)
        except InvalidSignatureError as exc:
            refused = exc
        else:
            modes.append(mode)
    if webhook is None:
        assert refused is not None  # every gateway of the name refused it
        raise refused
    return modes, webhook


async def merchant_gateway(db: AsyncSession, config: PayGuardConfig, merchant_id: UUID) -> tuple[PaymentMode, Gateway]:
    """The mode of the merchant's new payments and the gateway they go to.

    Raises:
        GatewayNotConfiguredError: A live merchant in a deployment without a live gateway.
    """
    test_mode = await db.scalar(select(Merchant.test_mode).where(Merchant.id == merchant_id))
    # A merchant that does not exist gets no payment anyway (the foreign key refuses it): test mode moves no money.
    mode = PaymentMode.LIVE if test_mode is False else PaymentMode.TEST
    return mode, gateway_for(config, mode)
