"""A client retrying an unsafe request with one Idempotency-Key. docs/idempotency.md shows this file; tests run it.

Whatever happens on the way (a timeout, a lost connection, a request still running, a database briefly down), the
retries carry the same key, so payguard opens one session at most.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx


def open_session(
    client: httpx.Client,
    token: str,
    bundle_id: str,
    *,
    attempts: int = 5,
    sleep: Callable[[float], None] = time.sleep,
) -> httpx.Response:
    """``POST /payguard/sessions`` until it has an answer worth keeping: 201 (perhaps replayed) or a final 4xx."""
    key = str(uuid.uuid4())  # one key per operation, reused on every retry
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key}
    for _ in range(attempts - 1):
        try:
            response = client.post("/payguard/sessions", json={"bundleId": bundle_id}, headers=headers, timeout=10)
        except httpx.TransportError:
            continue  # timed out or the connection broke: retry with the same key
        in_use = response.status_code == 409 and response.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
        if in_use or response.status_code == 503:
            # In use: the first attempt is still running. 503: nothing was stored and the key was released.
            sleep(int(response.headers["Retry-After"]))
            continue
        return response  # 201 ("Idempotent-Replayed: true" when a retry found the stored answer) or a final 4xx
    return client.post("/payguard/sessions", json={"bundleId": bundle_id}, headers=headers, timeout=10)
