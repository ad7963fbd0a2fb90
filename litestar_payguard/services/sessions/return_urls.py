"""Where a checkout page may send the customer: only to the merchant's allowed origins.

A session's ``successUrl`` and ``cancelUrl`` are links the hosted page follows in the customer's browser. Left
open, a session would be a redirect to anywhere under payguard's name (phishing); so each must be an absolute
``http(s)`` URL whose origin (scheme, host and port) is one of the merchant's ``allowed_origins``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlalchemy import select

from litestar_payguard.exceptions import PayGuardError
from litestar_payguard.models import Merchant
from litestar_payguard.services.merchants import origin_of

if TYPE_CHECKING:
    from uuid import UUID

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ("ReturnUrlNotAllowedError", "check_return_urls")

_CONTROL = re.compile(r"[\x00-\x20\x7f]")
"""Whitespace and control characters, which no URL a page follows may hold."""


class ReturnUrlNotAllowedError(PayGuardError):
    """A return URL whose origin is not one of the merchant's allowed origins (``field``, ``origin``)."""

    status_code = 422
    code = "RETURN_URL_NOT_ALLOWED"
    title = "Return URL not allowed"


async def check_return_urls(
    db: AsyncSession, merchant_id: UUID, *, success_url: str | None, cancel_url: str | None
) -> None:
    """Refuse return URLs that lead off the merchant's allowed origins; nothing is read without one.

    Raises:
        ReturnUrlNotAllowedError: The first URL that is not absolute ``http(s)`` or not on an allowed origin.
    """
    given = [(field, url) for field, url in (("successUrl", success_url), ("cancelUrl", cancel_url)) if url]
    if not given:
        return
    allowed = set(await db.scalar(select(Merchant.allowed_origins).where(Merchant.id == merchant_id)) or ())
    for field, url in given:
        origin = origin_of(url) if not _CONTROL.search(url) else None  # a final newline gets past the schema
        if origin is None or origin not in allowed:
            msg = (
                f"{field} must lead to one of the merchant's allowed origins, and {origin or url!r} is not one "
                "(the merchant's allowedOrigins)."
            )
            raise ReturnUrlNotAllowedError(msg, extra={"field": field, "origin": origin})
