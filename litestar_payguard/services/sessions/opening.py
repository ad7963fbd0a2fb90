"""Opening checkout sessions: at a price the server decided, at the host's price for a customer, for a merchant.

Every session opens through :meth:`SessionOpening._open`: its return URLs checked against the merchant's allowed
origins, its pending payment made under the pending-payment guard, its first attempt started, and (for the page)
its client secret hashed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import uuid4

import msgspec
from sqlalchemy.exc import IntegrityError

from litestar_payguard.currencies import normalize_currency
from litestar_payguard.models import CheckoutSession
from litestar_payguard.principal import Principal
from litestar_payguard.schemas.pending import SessionOpened
from litestar_payguard.schemas.sessions import validated
from litestar_payguard.services.sessions import rules
from litestar_payguard.services.sessions.client_secret import checkout_url, new_client_secret
from litestar_payguard.services.sessions.pricing import merchant_session, session_at_price
from litestar_payguard.services.sessions.reads import SessionReads
from litestar_payguard.services.sessions.return_urls import check_return_urls

if TYPE_CHECKING:
    from litestar_payguard.schemas.sessions import CheckoutSessionCreate, SessionCreate, SessionRequest
    from litestar_payguard.services.payments import OpenPayment

__all__ = ("SessionOpening",)


class SessionOpening(SessionReads):
    """The opening half of :class:`~litestar_payguard.services.sessions.service.SessionService`."""

    __slots__ = ()

    async def create(self, data: SessionCreate, *, owner: Principal | None = None) -> CheckoutSession:
        """Open a session and its pending payment; attempt 1 starts now.

        ``data`` is checked against its schema here too, so a struct built in the host's code meets the same
        rules as a request body. The pending-payment guard applies (see :meth:`PaymentService.create`). The
        session has no client secret, so no checkout page can act on it: :meth:`open` makes one.

        Raises:
            PendingSameBundleError: An open payment for the bundle still blocks a new one.
        """
        session, _ = await self._open(data, owner)
        return session

    async def open(self, data: SessionCreate, *, owner: Principal | None = None) -> SessionOpened:
        """:meth:`create`, rendered with its client secret, its checkout page and the open payments as warnings.

        The warnings are the customer's open payments for other bundles. The client secret is shown this once:
        only its hash is stored.
        """
        secret, secret_hash = new_client_secret()
        session, warnings = await self._open(data, owner, secret_hash)
        now = self._now()
        return SessionOpened(
            **msgspec.structs.asdict(self.view(session)),
            client_secret=secret,
            checkout_url=checkout_url(self._base_url, self._config.path, session.id, secret),
            warnings=[self._payments.pending_view(entry, now) for entry in warnings],
        )

    async def open_priced(self, data: SessionRequest, *, owner: Principal | None = None) -> SessionOpened:
        """:meth:`open` the session a customer asked for, at the price of the host's pricing hook.

        The ``amount`` and ``currency`` the customer sent are only what it expects to pay: bad ones are refused as
        bad input, other ones than the price answer 409 (see :func:`.pricing.session_at_price`).
        """
        owner = self._acting(owner)
        owner.require_customer()  # who asks comes first: the host's prices may depend on it
        data = validated(data)
        if data.amount is not None:
            self._payments.check_amount(data.amount)
        if data.currency is not None:
            normalize_currency(data.currency)
        priced = await session_at_price(data, self._pricer, trust_client_prices=self._config.trust_client_prices)
        return await self.open(priced, owner=owner)

    async def _open(
        self, data: SessionCreate, owner: Principal | None, client_secret_hash: str | None = None
    ) -> tuple[CheckoutSession, list[OpenPayment]]:
        owner = self._acting(owner)
        data = validated(data)
        await check_return_urls(self._db, owner.merchant_id, success_url=data.success_url, cancel_url=data.cancel_url)
        now = self._now()
        new = await self._payments.create(
            owner,
            bundle_id=data.bundle_id,
            amount=data.amount,
            currency=data.currency,
            plan_name=data.plan_name,
            metadata=data.metadata,
            at=now,
        )
        session = CheckoutSession(
            id=uuid4(),
            merchant_id=owner.merchant_id,
            customer_id=new.payment.customer_id,
            payment_id=new.payment.id,
            payment=new.payment,
            client_secret_hash=client_secret_hash,
            success_url=data.success_url,
            cancel_url=data.cancel_url,
            created_at=now,
            updated_at=now,
        )
        decision = rules.start(session, now, self.policy)
        self._db.add(session)
        try:
            await self._store(session, decision)
        except IntegrityError as exc:
            raise await self._payments.conflict_from(exc, owner, data.bundle_id, data.plan_name, now) from exc
        return session, new.warnings

    async def open_for_customer(self, data: CheckoutSessionCreate) -> SessionOpened:
        """Open a session for the merchant's customer ``data.customer_id`` (the merchant API).

        The merchant's server is trusted with the price: ``amount`` and ``currency`` are the price when given (both
        or neither), else the host's pricing hook prices the bundle.
        """
        merchant = self._acting(None).merchant_id
        owner = Principal(merchant_id=merchant, customer_id=data.customer_id)
        return await self.open(await merchant_session(validated(data), self._pricer), owner=owner)
