"""A session's client secret: what lets a checkout page act on that one session without the host's sign-in.

The secret is made when the session opens, returned once (``clientSecret``, and in the fragment of
``checkoutUrl``), and stored hashed. A request that sends it in the :data:`CLIENT_SECRET_HEADER` header acts for
the session's merchant and customer, on that session's routes only, until an hour after the session ended. It is
never accepted in a query string: a URL reaches logs, proxies and ``Referer`` headers, a fragment never leaves
the browser.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import select

from litestar_payguard.ids import as_uuid
from litestar_payguard.models import CheckoutSession
from litestar_payguard.principal import Principal
from litestar_payguard.services.merchants import hash_secret, verify_secret
from litestar_payguard.services.sessions.store import SessionNotFoundError

if TYPE_CHECKING:
    from datetime import datetime
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = (
    "AFTER_THE_END",
    "CLIENT_SECRET_HEADER",
    "CLIENT_SECRET_OPT",
    "CLIENT_SECRET_PREFIX",
    "checkout_url",
    "new_client_secret",
    "session_principal",
)

CLIENT_SECRET_HEADER = "PayGuard-Client-Secret"  # noqa: S105  # a header name, not a secret
CLIENT_SECRET_OPT = "payguard_client_secret"  # noqa: S105  # a route option's name, not a secret
"""Route ``opt`` key of the routes a client secret opens (with a ``session_id`` path parameter)."""
AFTER_THE_END = timedelta(hours=1)
"""How long after its session ended (or expired) a secret still opens it: the page shows how it ended."""
CLIENT_SECRET_PREFIX = "pgcs_"  # noqa: S105  # the secret's visible prefix, so leaked ones are easy to spot
_SECRET_BYTES = 32
"""256 random bits."""
_LONGEST = 128
"""Longer values are refused before hashing (ours are 48 characters)."""


def new_client_secret() -> tuple[str, str]:
    """A new client secret and its stored hash."""
    secret = CLIENT_SECRET_PREFIX + secrets.token_urlsafe(_SECRET_BYTES)
    return secret, hash_secret(secret)


def checkout_url(base_url: str, path: str, session_id: UUID, secret: str) -> str:
    """The hosted checkout page of the session, with its secret in the fragment (never sent to a server).

    ``base_url`` is the origin customers reach payguard at (empty: a path, for the host to complete).
    """
    return f"{base_url.rstrip('/')}{path.rstrip('/')}/checkout/{session_id}#{quote(secret, safe='')}"


async def session_principal(db: AsyncSession, session_id: str, secret: str, now: datetime) -> Principal:
    """Who a request presenting ``secret`` for ``session_id`` acts for: the session's merchant and customer.

    The secret opens its session for the session's life and :data:`AFTER_THE_END` more.

    Raises:
        SessionNotFoundError: No such session, the secret is not its own, or it ended too long ago (never told
            apart).
    """
    key = as_uuid(session_id)
    row = None
    if key is not None and len(secret) <= _LONGEST:
        statement = select(
            CheckoutSession.merchant_id,
            CheckoutSession.customer_id,
            CheckoutSession.client_secret_hash,
            CheckoutSession.ended_at,
            CheckoutSession.expires_at,
        ).where(CheckoutSession.id == key)
        row = (await db.execute(statement)).one_or_none()
    matches = verify_secret(secret, None if row is None else row.client_secret_hash)
    if row is None or not matches or min(row.ended_at or row.expires_at, row.expires_at) + AFTER_THE_END <= now:
        msg = f"No session {session_id}."
        raise SessionNotFoundError(msg)
    return Principal(merchant_id=row.merchant_id, customer_id=row.customer_id)
