"""The retrying client of docs/idempotency.md (docs/examples/idempotent_client.py), against the example host app.

The answer to its first request is lost on the way back (the server did answer and commit): the retry with the
same key gets the stored answer, and the customer has one session.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from docs.examples.host_app import create_app
from docs.examples.idempotent_client import open_session
from tests.support import Client, dispose_engine, listening, running

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "docs" / "examples" / "idempotent_client.py"


class LosesTheFirstAnswer(httpx.HTTPTransport):
    """Real HTTP, but the first answer never reaches the client: it times out after the server has answered."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.keys.append(request.headers.get("Idempotency-Key"))
        if len(self.keys) == 1:
            response.read()
            response.close()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_the_idempotency_guide_shows_the_example_file() -> None:
    guide = (ROOT / "docs" / "idempotency.md").read_text()
    included = f'--8<-- "{EXAMPLE.relative_to(ROOT)}"\n'
    assert included in re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)


async def test_a_lost_answer_is_retried_with_the_same_key_and_replayed(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("REDIS_URL", redis_url.rsplit("/", 1)[0] + "/8")  # a Redis database of its own
    monkeypatch.delenv("RAZORPAY_KEY_ID", raising=False)
    app = create_app()
    transport = LosesTheFirstAnswer()
    try:
        async with running(app), listening(app) as url, Client(app) as client:
            with httpx.Client(base_url=url, transport=transport) as http:
                answer = await asyncio.to_thread(open_session, http, "token-alice", "pro-monthly")
            pending = await client.get("/payguard/pending", headers={"Authorization": "Bearer token-alice"})
    finally:
        await dispose_engine(app)

    assert (answer.status_code, answer.headers.get("Idempotent-Replayed")) == (201, "true"), answer.text
    assert len(transport.keys) == 2
    assert transport.keys[0] is not None
    assert transport.keys[0] == transport.keys[1]
    assert [payment["bundleId"] for payment in pending.json()["pendingPayments"]] == ["pro-monthly"]


def _scripted(answers: list[httpx.Response | Exception]) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.Client(base_url="http://shop.example", transport=httpx.MockTransport(handle)), seen


def test_it_waits_as_told_while_the_key_is_in_use_or_the_server_is_down() -> None:
    in_use = httpx.Response(409, json={"code": "IDEMPOTENCY_KEY_IN_USE"}, headers={"Retry-After": "1"})
    down = httpx.Response(503, json={"code": "SERVICE_UNAVAILABLE"}, headers={"Retry-After": "2"})
    refused = httpx.Response(404, json={"code": "BUNDLE_NOT_FOUND"})
    client, seen = _scripted([httpx.ConnectError("no route"), in_use, down, refused])
    slept: list[float] = []
    answer = open_session(client, "token", "gold", sleep=slept.append)
    assert (answer.status_code, slept) == (404, [1, 2])
    assert len({request.headers["Idempotency-Key"] for request in seen}) == 1
    assert len(seen) == 4
