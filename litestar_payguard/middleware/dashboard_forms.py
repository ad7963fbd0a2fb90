"""The dashboard's forms, each applied at most once: a double click or a reload that posts again runs once.

A second post of the same form (a double click, a reload that posts again, a second tab) gets the first one's page.

Every form the dashboard renders carries a one-time key in a hidden field (``_form_key``, see
:func:`~litestar_payguard.pages.dashboard.render_dashboard`). This is payguard's ``Idempotency-Key`` machinery
with the key taken from that field: the first post claims it and runs; the same form posted again with the same
values waits for the first to finish (up to ``WAIT_SECONDS``) and gets its answer back, byte for byte (for a new
endpoint, the page with its signing secret, sealed at rest like every stored answer). Posted with other values
(the page's fields changed, then sent again) it is a new submission: the values are part of the key's scope, so
the dashboard never answers ``IDEMPOTENCY_KEY_REUSED``. A post without the field runs as it is.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qs

from litestar_payguard.middleware.idempotency import UNSAFE_METHODS, IdempotencyMiddleware
from litestar_payguard.services.idempotency import IdempotencyKeyInUseError, form_scope

if TYPE_CHECKING:
    from litestar.types import Scope

    from litestar_payguard.runtime import PayGuard
    from litestar_payguard.services.idempotency import KeyClaim, StoredResponse

__all__ = ("FORM_KEY_FIELD", "WAIT_SECONDS", "DashboardFormMiddleware")

FORM_KEY_FIELD = "_form_key"
"""The hidden field holding a form's one-time key."""
WAIT_SECONDS = 10.0
"""How long a form posted again waits for its first post to finish before it is told to try again (409)."""
_POLL_SECONDS = (0.05, 0.1, 0.2, 0.4)


class DashboardFormMiddleware(IdempotencyMiddleware):
    """The dashboard's transaction boundary, with each rendered form applied at most once (see the module)."""

    def may_have_key(self, scope: Scope) -> bool:
        """Every form post may carry its key in its body."""
        return scope.get("method") in UNSAFE_METHODS

    def raw_key(self, scope: Scope, body: bytes) -> str | None:  # noqa: ARG002 - the body holds it
        """The form's ``_form_key`` field (``None``: the form has none)."""
        try:
            values = parse_qs(body.decode("ascii"), max_num_fields=100)
        except (UnicodeDecodeError, ValueError):  # not a form of ours: the route refuses it
            return None
        keys = values.get(FORM_KEY_FIELD)
        return keys[0] if keys else None

    async def namespace(self, scope: Scope, payguard: PayGuard, print_: str) -> str:  # noqa: ARG002
        """The dashboard, the route and the form's values: changed values are another submission."""
        return form_scope(cast("str", scope.get("method", "")), scope.get("path_template", scope["path"]), print_)

    async def claim(self, payguard: PayGuard, namespace: str, key: str, print_: str) -> KeyClaim | StoredResponse:
        """Claim the form's key; while its first post still runs, wait for that post's answer."""
        deadline, attempt = time.monotonic() + WAIT_SECONDS, 0
        while True:
            try:
                return await super().claim(payguard, namespace, key, print_)
            except IdempotencyKeyInUseError:
                if time.monotonic() >= deadline:
                    raise
            await asyncio.sleep(_POLL_SECONDS[min(attempt, len(_POLL_SECONDS) - 1)])
            attempt += 1
