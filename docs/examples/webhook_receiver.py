"""A merchant's backend receiving payguard's webhooks. docs/webhooks.md shows this file; the tests run it.

Run it: ``WEBHOOK_SECRETS=whsec_… uvicorn docs.examples.webhook_receiver:create_app --factory --port 8001``
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from litestar import Litestar, Request, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException

from litestar_payguard.webhooks import WebhookEvent, WebhookVerificationError, verify


@post("/payguard-events", status_code=204)
async def receive(request: Request, state: State) -> None:
    """Verify the delivery, act on it once, answer 2xx quickly (payguard retries anything else)."""
    try:
        event = verify(await request.body(), request.headers, state.secrets)
    except WebhookVerificationError as error:
        raise HTTPException(status_code=400, detail=str(error)) from None
    if event.id in state.seen:  # a retry of an event already handled: answer 2xx again and do nothing
        return
    handle(event, state)
    state.seen.add(event.id)  # only once handled: if handling fails, the 500 makes payguard retry


def handle(event: WebhookEvent, state: State) -> None:
    """Your business: fulfil the order on payment.succeeded, and so on. Events can arrive in any order."""
    state.events.append(event)


def create_app(secrets: Sequence[str] = ()) -> Litestar:
    """The receiver; during a rotation ``WEBHOOK_SECRETS`` holds the new and the old secret, space-separated."""
    secrets = list(secrets) or os.environ["WEBHOOK_SECRETS"].split()
    # The ids seen are kept in memory, so they are lost on restart and not shared between processes: a real
    # receiver records them in its database (a unique column) or in Redis for longer than payguard retries.
    return Litestar([receive], state=State({"secrets": secrets, "seen": set(), "events": []}))
