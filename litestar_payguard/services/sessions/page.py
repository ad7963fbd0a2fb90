"""What the hosted checkout page of a session needs from the server before any script runs.

The page's request carries no secret (it sits in the URL's fragment), so this reads nothing a customer would
not see: where the page may be embedded (the merchant's allowed origins) and how it pays (the payment's gateway).
Whether the session exists is not told apart in the page: it learns it from the API, with the secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from litestar_payguard.currencies import minor_unit_digits
from litestar_payguard.gateways import BrowserCheckout, browser_checkout
from litestar_payguard.ids import as_uuid
from litestar_payguard.models import CheckoutSession, Merchant, Payment, PaymentMode
from litestar_payguard.services.gateway_modes import GatewayNotConfiguredError, payment_gateway
from litestar_payguard.services.merchants import origin_of

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = ("CheckoutPage", "CheckoutPageService")


@dataclass(frozen=True, slots=True)
class CheckoutPage:
    """The server's part of a checkout page.

    Attributes:
        merchant_name: Whom the customer pays (empty for a session that does not exist).
        frame_ancestors: Origins besides payguard's own that may embed the page (the merchant's allowed
            origins); none for a session that does not exist.
        embed_origin: The embedding page's origin that the page reports to by ``postMessage``: the ``embed``
            origin checkout.js asked for, when it is one of ``frame_ancestors``; else ``None`` (no report).
        minor_units: Digits after the decimal point of the payment's currency (2 for USD, 0 for JPY).
        test_mode: The payment is a test-mode one (its gateway moves no money).
        checkout: How the browser pays with the payment's gateway; ``None``: the test-mode panel in test mode,
            and no way to pay on this page in live mode.
    """

    merchant_name: str
    frame_ancestors: tuple[str, ...]
    embed_origin: str | None
    minor_units: int | None
    test_mode: bool
    checkout: BrowserCheckout | None


NO_PAGE = CheckoutPage(
    merchant_name="", frame_ancestors=(), embed_origin=None, minor_units=None, test_mode=False, checkout=None
)
"""The page of a session that does not exist: no site may embed it, and the API tells the page the rest."""


class CheckoutPageService:
    """Reads what a checkout page needs: the session's merchant's origins and its payment's gateway."""

    __slots__ = ("_config", "_db")

    def __init__(self, db: AsyncSession, config: PayGuardConfig) -> None:
        self._db = db
        self._config = config

    async def page(self, session_id: str, embed: str | None, own_origin: str | None = None) -> CheckoutPage:
        """The page of ``session_id``, embedded by ``embed`` (an origin, or ``None`` for a page of its own).

        ``own_origin`` is the page's own (the host's pages may embed it too: the same origin is the host itself).
        """
        key = as_uuid(session_id)
        row = None
        if key is not None:
            statement = (
                select(Merchant.name, Merchant.allowed_origins, Payment.mode, Payment.gateway, Payment.currency)
                .select_from(CheckoutSession)
                .join(Payment, Payment.id == CheckoutSession.payment_id)
                .join(Merchant, Merchant.id == CheckoutSession.merchant_id)
                .where(CheckoutSession.id == key)
            )
            row = (await self._db.execute(statement)).one_or_none()
        if row is None:
            return NO_PAGE
        ancestors = tuple(str(origin) for origin in row.allowed_origins or ())
        requested = origin_of(embed) if embed else None
        try:
            gateway = payment_gateway(self._config, row.mode, row.gateway)
        except GatewayNotConfiguredError:  # the page shows the API's answer to paying (409)
            checkout = None
        else:
            checkout = browser_checkout(gateway)
        return CheckoutPage(
            merchant_name=row.name,
            frame_ancestors=ancestors,
            embed_origin=requested if requested is not None and requested in {*ancestors, own_origin} else None,
            minor_units=minor_unit_digits(row.currency),
            test_mode=row.mode is PaymentMode.TEST,
            checkout=checkout,
        )
