"""Errors raised by payguard's services, each with a stable code.

Every error here is rendered as an RFC 9457 problem-details response on payguard's routes (see
``litestar_payguard.problems``). Services raise them without knowing about HTTP; the status code is a
class attribute so the mapping lives in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from litestar.exceptions import ImproperlyConfiguredException

__all__ = (
    "API_KEY_CHALLENGE",
    "HOST_CHALLENGE",
    "Action",
    "AuthenticationError",
    "ConflictError",
    "CustomerRequiredError",
    "GatewayError",
    "GatewayRefusedError",
    "ImproperConfigurationError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "MaxAttemptsReachedError",
    "NotFoundError",
    "PayGuardError",
    "PayloadTooLargeError",
    "PaymentProcessingError",
    "RetryTooSoonError",
    "SessionCancelledError",
    "SessionCompletedError",
    "SessionExpiredError",
    "SessionFailedError",
    "SessionNotActiveError",
    "ValidationFailedError",
    "WebhookSecretUnreadableError",
    "WebhookTargetBlockedError",
    "WebhookTargetUnresolvedError",
    "WebhookUrlInvalidError",
    "WebhookUrlNotHttpsError",
)


API_KEY_CHALLENGE = 'ApiKey realm="payguard"'
"""``WWW-Authenticate`` of a 401 that payguard's merchant API keys answer (``X-Api-Key`` and ``X-Api-Secret``)."""
HOST_CHALLENGE = 'Host realm="payguard"'
"""``WWW-Authenticate`` of a 401 that only the host application's own sign-in answers (its customer hook, its
admin guards). payguard does not know that scheme (cookies, bearer tokens…), so it names none of the standard
ones; a host guard that sends its own challenge keeps it."""


class ImproperConfigurationError(ImproperlyConfiguredException):
    """payguard was configured in a way that cannot work; raised at application start-up."""


@dataclass(frozen=True, slots=True)
class Action:
    """A way out offered with an error: an HTTP call the client may make next.

    ``path`` is relative to payguard's route prefix; the problem renderer makes it absolute.
    """

    method: str
    path: str
    label: str


class PayGuardError(Exception):
    """Base of every error payguard reports to a client.

    Attributes:
        status_code: HTTP status used when rendered.
        code: Stable, machine-readable error code.
        title: Short human-readable summary of the problem type.
    """

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "PAYGUARD_ERROR"
    title: ClassVar[str] = "Request rejected"

    def __init__(
        self,
        detail: str,
        *,
        actions: Mapping[str, Action] | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
        keep_changes: bool = False,
    ) -> None:
        """Create the error.

        Args:
            detail: Human-readable explanation specific to this occurrence.
            actions: Ways out the client can take, by name.
            headers: Extra response headers (e.g. ``Retry-After``).
            extra: Extra problem members, merged into the body.
            keep_changes: The service recorded a state change before refusing (for example the session
                became ``failed``); the transaction is committed although the response is an error.
        """
        super().__init__(detail)
        self.detail = detail
        self.actions = dict(actions or {})
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        self.keep_changes = keep_changes


class InvalidRequestError(PayGuardError):
    """The request is well-formed but its values are not acceptable."""

    status_code = 422
    code = "INVALID_REQUEST"
    title = "Invalid request"


class ValidationFailedError(InvalidRequestError):
    """The input does not match its schema."""

    code = "VALIDATION_FAILED"
    title = "Validation failed"


class AuthenticationError(PayGuardError):
    """The caller could not be identified; the answer challenges it (``WWW-Authenticate``, RFC 9110)."""

    status_code = 401
    code = "AUTHENTICATION_REQUIRED"
    title = "Authentication required"
    challenge: ClassVar[str] = API_KEY_CHALLENGE
    """The ``WWW-Authenticate`` value sent with it, unless ``headers`` give one."""

    def __init__(self, detail: str, **kwargs: Any) -> None:
        """Create the error (arguments as :class:`PayGuardError`'s)."""
        super().__init__(detail, **kwargs)
        self.headers.setdefault("WWW-Authenticate", self.challenge)


class CustomerRequiredError(AuthenticationError):
    """The operation acts for a customer, and the host's customer hook found none."""

    challenge = HOST_CHALLENGE


class NotFoundError(PayGuardError):
    """The resource does not exist or belongs to someone else (never distinguished)."""

    status_code = 404
    code = "NOT_FOUND"
    title = "Not found"


class PayloadTooLargeError(PayGuardError):
    """The request's body is larger than ``PayGuardConfig.max_body_bytes``."""

    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    title = "Request Entity Too Large"


class ConflictError(PayGuardError):
    """The request conflicts with the current state of the resource."""

    status_code = 409
    code = "CONFLICT"
    title = "Conflict"


class SessionNotActiveError(ConflictError):
    """The transition needs an active session."""

    code = "SESSION_NOT_ACTIVE"
    title = "Session is not active"


class SessionCompletedError(ConflictError):
    """The session is already completed."""

    code = "SESSION_COMPLETED"
    title = "Session already completed"


class SessionCancelledError(ConflictError):
    """The session was cancelled."""

    code = "SESSION_CANCELLED"
    title = "Session cancelled"


class SessionFailedError(ConflictError):
    """The session failed (its attempts are exhausted)."""

    code = "SESSION_FAILED"
    title = "Session failed"


class SessionExpiredError(ConflictError):
    """The session outlived its expiry."""

    code = "SESSION_EXPIRED"
    title = "Session expired"


class MaxAttemptsReachedError(ConflictError):
    """Every attempt of the session is used."""

    code = "MAX_ATTEMPTS_REACHED"
    title = "Maximum attempts reached"


class RetryTooSoonError(ConflictError):
    """A retry came before the minimum delay since the interruption."""

    code = "RETRY_TOO_SOON"
    title = "Retry too soon"


class GatewayError(PayGuardError):
    """The payment gateway could not be reached or answered nonsense; nothing was changed."""

    status_code = 502
    code = "GATEWAY_ERROR"
    title = "Payment gateway error"


class InvalidSignatureError(PayGuardError):
    """A gateway signature (the checkout's, or an inbound webhook's) is missing or does not verify."""

    status_code = 400
    code = "INVALID_SIGNATURE"
    title = "Invalid signature"


class PaymentProcessingError(ConflictError):
    """The payment is with the gateway; nothing may change it until the gateway has answered."""

    code = "PAYMENT_PROCESSING"
    title = "Payment is processing"


class GatewayRefusedError(InvalidRequestError):
    """The gateway understood the request and refused it (an amount below its minimum, say): retrying won't help."""

    code = "GATEWAY_REFUSED"
    title = "Refused by the payment gateway"


class WebhookUrlInvalidError(InvalidRequestError):
    """A webhook endpoint URL that cannot be a target: not absolute, no host, credentials in it, a bad port."""

    code = "WEBHOOK_URL_INVALID"
    title = "Invalid webhook URL"


class WebhookUrlNotHttpsError(InvalidRequestError):
    """A webhook endpoint URL that is not ``https://`` (plain ``http://`` is only for test-mode merchants)."""

    code = "WEBHOOK_URL_NOT_HTTPS"
    title = "Webhook URL must use https"


class WebhookTargetBlockedError(InvalidRequestError):
    """A webhook target that is, or resolves to, a non-public address outside ``webhook_allowed_networks``."""

    code = "WEBHOOK_TARGET_BLOCKED"
    title = "Webhook target not allowed"


class WebhookTargetUnresolvedError(InvalidRequestError):
    """A webhook target whose host name does not resolve to any address."""

    code = "WEBHOOK_TARGET_UNRESOLVED"
    title = "Webhook host does not resolve"


class WebhookSecretUnreadableError(PayGuardError):
    """A stored signing secret that the configured ``webhook_secret_key`` cannot open.

    No key, another key, or a damaged value: a deployment problem, not the client's. The message never contains
    the secret or the key.
    """

    status_code = 500
    code = "WEBHOOK_SECRET_UNREADABLE"
    title = "Webhook signing secret cannot be read"
