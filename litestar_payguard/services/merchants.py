"""Merchants: API credentials and the default merchant of single-tenant hosts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from litestar_payguard.exceptions import AuthenticationError, PayGuardError
from litestar_payguard.models import Merchant
from litestar_payguard.services.gateway_modes import GatewayNotConfiguredError
from litestar_payguard.services.scoped import MerchantScoped

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.config import PayGuardConfig

__all__ = (
    "AllowedOriginInvalidError",
    "InvalidCredentialsError",
    "MerchantAccountService",
    "MerchantService",
    "hash_secret",
    "origin_of",
    "verify_secret",
)

_SCHEME = "sha256"


class AllowedOriginInvalidError(PayGuardError, ValueError):
    """An allowed origin that is not a scheme, a host and a port (a path, a query, credentials, no host)."""

    status_code = 422
    code = "ALLOWED_ORIGIN_INVALID"
    title = "Allowed origin invalid"


class InvalidCredentialsError(AuthenticationError):
    """The API key is unknown or the secret does not match (never said which)."""

    code = "INVALID_API_CREDENTIALS"
    title = "Invalid API credentials"


_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str | None:
    """The origin of an absolute ``http(s)`` URL (``https://shop.example``, default port left out); else ``None``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None:
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    shown = "" if port is None or port == _DEFAULT_PORTS[parts.scheme] else f":{port}"
    return f"{parts.scheme}://{host}{shown}"


def hash_secret(secret: str, *, salt: str | None = None) -> str:
    """Hash an API secret for storage as ``sha256$<salt>$<hex digest>``.

    API secrets are long random strings, so a salted SHA-256 is enough (as for GitHub or Stripe tokens);
    a slow password hash would cost every API request tens of milliseconds.
    """
    salt = salt or secrets.token_hex(16)
    digest = hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()
    return f"{_SCHEME}${salt}${digest}"


def verify_secret(secret: str, stored: str | None) -> bool:
    """Compare a presented secret with a stored hash in constant time."""
    if not stored or stored.count("$") != 2:
        # Still spend the time of a comparison, so unknown keys are not told apart by timing.
        hmac.compare_digest(hash_secret(secret, salt="x"), hash_secret("", salt="x"))
        return False
    scheme, salt, _ = stored.split("$")
    return scheme == _SCHEME and hmac.compare_digest(hash_secret(secret, salt=salt), stored)


class MerchantService:
    """Looks up, authenticates and provisions merchants.

    Args:
        db: The database session to work in (flushed, never committed).
        config: payguard's configuration: whether the deployment has a live gateway. Without it, no merchant can
            be made live (fail closed).
    """

    __slots__ = ("_config", "_db")

    def __init__(self, db: AsyncSession, config: PayGuardConfig | None = None) -> None:
        self._db = db
        self._config = config

    async def get_by_key(self, api_key: str) -> Merchant | None:
        """Return the merchant with this API key, if any."""
        result = await self._db.execute(select(Merchant).where(Merchant.api_key == api_key))
        return result.scalar_one_or_none()

    async def authenticate(self, api_key: str, secret: str) -> Merchant:
        """Return the merchant whose key and secret these are.

        Raises:
            InvalidCredentialsError: Unknown key or wrong secret.
        """
        merchant = await self.get_by_key(api_key)
        if not verify_secret(secret, merchant.secret_hash if merchant else None) or merchant is None:
            msg = "The API key and secret do not match a merchant."
            raise InvalidCredentialsError(msg)
        return merchant

    async def ensure(
        self,
        api_key: str,
        *,
        name: str | None = None,
        secret: str | None = None,
        test_mode: bool | None = None,
        allowed_origins: Sequence[str] | None = None,
    ) -> Merchant:
        """Return the merchant with this key, creating it when missing; the caller commits.

        When ``secret``, ``test_mode`` or ``allowed_origins`` is given, the stored merchant is set to it (so seeding
        is repeatable); payments made before a change of mode keep theirs. A new merchant without ``test_mode`` is
        in test mode. ``allowed_origins`` (``https://shop.example``) are where its sessions' return URLs may lead.
        Safe against a concurrent creation of the same key: the loser re-reads the winner's row.

        Raises:
            AllowedOriginInvalidError: An allowed origin that is not an ``http(s)`` origin (a ``ValueError``);
                nothing is changed.
            GatewayNotConfiguredError: A live merchant (``test_mode=False``) asked for, and no live gateway (or no
                ``config``) to take its payments; nothing is changed.
        """
        origins = None if allowed_origins is None else [_origin(value) for value in allowed_origins]
        if test_mode is False and (self._config is None or self._config.live_gateway is None):
            msg = (
                f"Merchant {api_key!r} cannot be live: the deployment has no live gateway to take its payments "
                "(PayGuardConfig.live_gateway)."
            )
            raise GatewayNotConfiguredError(msg, extra={"mode": "live"})
        merchant = await self.get_by_key(api_key)
        if merchant is None:
            merchant = Merchant(api_key=api_key, name=name or api_key, test_mode=test_mode is not False)
            try:
                async with self._db.begin_nested():
                    self._db.add(merchant)
            except IntegrityError:
                merchant = await self.get_by_key(api_key)
                assert merchant is not None  # the concurrent creator committed it
        if secret is not None and not verify_secret(secret, merchant.secret_hash):
            merchant.secret_hash = hash_secret(secret)
        if test_mode is not None:
            merchant.test_mode = test_mode
        if origins is not None:
            merchant.allowed_origins = sorted(set(origins))
        await self._db.flush()
        return merchant


def _origin(value: str) -> str:
    """``value`` as an origin, refusing anything with a path, a query or credentials."""
    origin = origin_of(value)  # None for what urlsplit cannot parse either ("http://[")
    parts = urlsplit(value) if origin is not None else None
    if parts is None or origin is None or parts.path not in {"", "/"} or parts.query or parts.fragment:
        msg = f"An allowed origin is a scheme, a host and a port (https://shop.example), not {value!r}."
        raise AllowedOriginInvalidError(msg, extra={"value": value[:255]})
    return origin


class MerchantAccountService(MerchantScoped):
    """The merchant's own account, for the merchant API: what it is, and the origins it allows."""

    __slots__ = ()

    async def view(self) -> Merchant:
        """The merchant."""
        return await self._db.get_one(Merchant, self._merchant_id)

    async def set_allowed_origins(self, origins: Sequence[str]) -> Merchant:
        """Replace the merchant's allowed origins (normalised, each once).

        Raises:
            AllowedOriginInvalidError: One is not an ``http(s)`` origin; nothing is changed.
        """
        normalised = sorted({_origin(value) for value in origins})
        merchant = await self.view()
        merchant.allowed_origins = normalised
        await self._db.flush()
        return merchant
