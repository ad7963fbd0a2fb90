"""Checkout sessions, for customers.

Its annotations are evaluated at import (no ``from __future__ import annotations``): advanced-alchemy puts
SQLAlchemy's ``Session`` in the app's signature namespace, which wins over this module's names when Litestar
resolves string annotations, and the OpenAPI document would describe the responses of the ``Session`` schema as
anything at all.
"""

from litestar import Controller, get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from litestar_payguard.currencies import UnsupportedCurrencyError
from litestar_payguard.exceptions import (
    GatewayError,
    GatewayRefusedError,
    InvalidSignatureError,
    MaxAttemptsReachedError,
    PaymentProcessingError,
    RetryTooSoonError,
    SessionCancelledError,
    SessionCompletedError,
    SessionExpiredError,
    SessionFailedError,
    SessionNotActiveError,
)
from litestar_payguard.openapi import problem_responses
from litestar_payguard.schemas import Session, SessionComplete, SessionInterrupt, SessionRequest, SessionSummary
from litestar_payguard.schemas.gateways import CheckoutOrder
from litestar_payguard.schemas.pending import SessionOpened
from litestar_payguard.services.gateway_modes import GatewayNotConfiguredError
from litestar_payguard.services.payments import AmountTooLargeError, PendingSameBundleError
from litestar_payguard.services.sessions import (
    CLIENT_SECRET_OPT,
    BundleNotFoundError,
    PriceChangedError,
    PricingNotConfiguredError,
    ReturnUrlNotAllowedError,
    SessionNotFoundError,
    SessionService,
)

__all__ = ("NO_STORE", "SessionController")

NO_STORE = CacheControlHeader(no_store=True)
"""The answer holds the session's client secret: no cache keeps it."""

_TRANSITION = (
    SessionNotFoundError,
    SessionNotActiveError,
    SessionCompletedError,
    SessionCancelledError,
    SessionFailedError,
    SessionExpiredError,
    MaxAttemptsReachedError,
    RetryTooSoonError,
    PaymentProcessingError,
)
"""What a session refuses to a step its state does not allow."""
_GATEWAY = (GatewayError, GatewayRefusedError, GatewayNotConfiguredError)


class SessionController(Controller):
    """Open, poll, interrupt, resume, complete and cancel checkout sessions."""

    path = "/sessions"
    tags = ["payguard: sessions"]
    opt = {CLIENT_SECRET_OPT: True}  # Litestar's own attribute: its routes take a client secret

    @post(
        "/",
        operation_id="payguardCreateSession",
        status_code=201,
        cache_control=NO_STORE,
        responses=problem_responses(
            ReturnUrlNotAllowedError,
            PricingNotConfiguredError,
            BundleNotFoundError,
            PriceChangedError,
            PendingSameBundleError,
            GatewayNotConfiguredError,
            AmountTooLargeError,
            UnsupportedCurrencyError,
        ),
    )
    async def create_session(
        self,
        data: JSONBody[SessionRequest],
        payguard_sessions: NamedDependency[SessionService],
    ) -> SessionOpened:
        """Open a session for a bundle, at the host's price, and its pending payment; attempt 1 starts now.

        An ``amount`` or ``currency`` other than the price answers 409 ``PRICE_CHANGED`` with the ``price``; a
        bundle the host does not sell, 404 ``BUNDLE_NOT_FOUND``. Open payments for other bundles come back as
        ``warnings``; one for the same bundle answers 409 ``PENDING_SAME_BUNDLE`` with the ways out.
        """
        return await payguard_sessions.open_priced(data)

    @get("/{session_id:str}", operation_id="payguardGetSession", responses=problem_responses(SessionNotFoundError))
    async def get_session(
        self,
        session_id: FromPath[str],
        payguard_sessions: NamedDependency[SessionService],
    ) -> Session:
        """Poll a session: server-side truth, including timeouts and expiry the client did not notice."""
        return await payguard_sessions.status(session_id)

    @post(
        "/{session_id:str}/interrupt",
        operation_id="payguardInterruptSession",
        status_code=200,
        responses=problem_responses(*_TRANSITION),
    )
    async def interrupt_session(
        self,
        session_id: FromPath[str],
        data: JSONBody[SessionInterrupt],
        payguard_sessions: NamedDependency[SessionService],
    ) -> Session:
        """Report that the current attempt stopped (timeout, network, gateway, unload, user)."""
        session = await payguard_sessions.interrupt(session_id, data.kind, data.detail)
        return payguard_sessions.view(session)

    @post(
        "/{session_id:str}/resume",
        operation_id="payguardResumeSession",
        status_code=200,
        responses=problem_responses(*_TRANSITION),
    )
    async def resume_session(
        self,
        session_id: FromPath[str],
        payguard_sessions: NamedDependency[SessionService],
    ) -> Session:
        """Start the next attempt with a fresh deadline."""
        return payguard_sessions.view(await payguard_sessions.resume(session_id))

    @post(
        "/{session_id:str}/order",
        operation_id="payguardOpenSessionOrder",
        status_code=200,
        responses=problem_responses(*_TRANSITION, *_GATEWAY),
    )
    async def open_order(
        self,
        session_id: FromPath[str],
        payguard_sessions: NamedDependency[SessionService],
    ) -> CheckoutOrder:
        """The gateway order to pay in the gateway's checkout (opened on first call, the same one after)."""
        return await payguard_sessions.open_order(session_id)

    @post(
        "/{session_id:str}/complete",
        operation_id="payguardCompleteSession",
        status_code=200,
        responses=problem_responses(*_TRANSITION, *_GATEWAY, InvalidSignatureError),
    )
    async def complete_session(
        self,
        session_id: FromPath[str],
        data: JSONBody[SessionComplete],
        payguard_sessions: NamedDependency[SessionService],
    ) -> Session:
        """Verify the payment with the gateway and complete the session; repeating it changes nothing."""
        session = await payguard_sessions.complete(session_id, data.gateway_payment_id, data.signature)
        return payguard_sessions.view(session)

    @post(
        "/{session_id:str}/cancel",
        operation_id="payguardCancelSession",
        status_code=200,
        responses=problem_responses(*_TRANSITION),
    )
    async def cancel_session(
        self,
        session_id: FromPath[str],
        payguard_sessions: NamedDependency[SessionService],
    ) -> Session:
        """Cancel the session and its payment."""
        return payguard_sessions.view(await payguard_sessions.cancel(session_id))

    @get(
        "/{session_id:str}/summary",
        operation_id="payguardSummarizeSession",
        responses=problem_responses(SessionNotFoundError),
    )
    async def summarize_session(
        self,
        session_id: FromPath[str],
        payguard_sessions: NamedDependency[SessionService],
    ) -> SessionSummary:
        """Attempts, interruptions by kind, durations and outcome."""
        return await payguard_sessions.summary(session_id)
