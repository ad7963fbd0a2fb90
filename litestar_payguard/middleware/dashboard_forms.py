"""The dashboard's forms, each applied at most once: a double click or a reload that posts again runs once.

Every form the dashboard renders carries a one-time key in a hidden field (``_form_key``, see
:func:`~litestar_payguard.pages.dashboard.render_dashboard`). This is payguard's ``Idempotency-Key`` machinery
with the key taken from that field: the first post claims it and runs; the same rendered form posted again with
the same values (a reload of the page it answered, a second click) waits for the first to finish (up to
``WAIT_SECONDS``) and gets its answer back, byte for byte, with the dashboard's headers (for a new endpoint, the
page with its signing secret, sealed at rest like every stored answer). Posted with other values (the page's
fields changed, then sent again) it is a new submission: the values are part of the key's scope, so the dashboard
never answers ``IDEMPOTENCY_KEY_REUSED``. A post without the field runs as it is. Another tab renders its own
keys: the same action sent from two pages is two submissions. Refusals are dashboard pages.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import parse_qs

from litestar import Request

from litestar_payguard.middleware.idempotency import UNSAFE_METHODS, IdempotencyMiddleware
from litestar_payguard.observability import idempotency_outcome
from litestar_payguard.services.idempotency import IdempotencyKeyInUseError, form_scope

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from litestar import Response
    from litestar.types import Message, ReceiveMessage, Scope

    from litestar_payguard.exceptions import PayGuardError
    from litestar_payguard.runtime import PayGuard
    from litestar_payguard.services.idempotency import KeyClaim, StoredResponse

__all__ = ("FORM_KEY_FIELD", "WAIT_SECONDS", "DashboardFormMiddleware")

FORM_KEY_FIELD = "_form_key"
"""The hidden field holding a form's one-time key."""
WAIT_SECONDS = 10.0
"""How long a form posted again waits for its first post to finish before it is told to try again (409)."""
_POLL_SECONDS = (0.05, 0.1, 0.2, 0.4)


class DashboardFormMiddleware(IdempotencyMiddleware):
    """The dashboard's transaction boundary, with each rendered form applied at most once (see the module).

    Args:
        replay_headers: Headers every dashboard page carries, added to replays (the store keeps few headers).
        refusal_page: Renders a refusal over a form's key as a dashboard page.
    """

    key_in_body: ClassVar[bool] = True

    def __init__(
        self,
        *,
        replay_headers: Mapping[str, str],
        refusal_page: Callable[[Request[Any, Any, Any], PayGuardError], Response[Any]],
    ) -> None:
        super().__init__()
        self._replay_headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in replay_headers.items()
        ]
        self._refusal_page = refusal_page

    def may_have_key(self, scope: Scope) -> bool:
        """Every form post may carry its key in its body."""
        return scope.get("method") in UNSAFE_METHODS

    def body_key(self, body: bytes) -> str | None:
        """The form's ``_form_key`` field (``None``: the form has none; an empty one is refused as invalid).

        Read as Litestar reads the form (Latin-1, blank values kept, the body bounded by ``max_body_bytes``), so a
        form the handler will run never passes here without its key.
        """
        keys = parse_qs(body.decode("latin-1"), keep_blank_values=True).get(FORM_KEY_FIELD)
        return keys[0] if keys else None

    async def namespace(self, scope: Scope, payguard: PayGuard, print_: str) -> str:  # noqa: ARG002
        """The dashboard, the route and the form's values: changed values are another submission."""
        return form_scope(cast("str", scope.get("method", "")), scope.get("path_template", scope["path"]), print_)

    async def claim(
        self, payguard: PayGuard, namespace: str, key: str, print_: str, *, count_in_use: bool = True
    ) -> KeyClaim | StoredResponse:
        """Claim the form's key; while its first post still runs, wait for that post's answer.

        Each try takes a connection of its own and gives it back before waiting, so the first post can commit.
        """
        deadline, attempt = time.monotonic() + WAIT_SECONDS, 0
        while True:
            try:
                return await super().claim(payguard, namespace, key, print_, count_in_use=False)
            except IdempotencyKeyInUseError:
                if time.monotonic() >= deadline:
                    if count_in_use:
                        idempotency_outcome("in_progress")
                    raise
            await asyncio.sleep(_POLL_SECONDS[min(attempt, len(_POLL_SECONDS) - 1)])
            attempt += 1

    def replay(self, stored: StoredResponse) -> list[Message]:
        """The stored page again, with the dashboard's headers (``Cache-Control: no-store``, its policy)."""
        messages = super().replay(stored)
        start = cast("dict[str, Any]", messages[0])
        kept = {name for name, _ in start["headers"]}
        start["headers"] = [*start["headers"], *(header for header in self._replay_headers if header[0] not in kept)]
        return messages

    async def refusal(self, scope: Scope, payguard: PayGuard, exc: PayGuardError) -> list[Message]:  # noqa: ARG002
        """The refusal as a dashboard page, with its status and headers (``Retry-After``)."""
        request: Request[Any, Any, Any] = Request(scope)
        response = self._refusal_page(request, exc)
        response.headers.update(exc.headers)
        sent: list[Message] = []

        async def keep(message: Message) -> None:
            sent.append(message)

        async def nothing() -> ReceiveMessage:
            return {"type": "http.disconnect"}

        await response.to_asgi_response(None, request)(scope, nothing, keep)
        return sent
