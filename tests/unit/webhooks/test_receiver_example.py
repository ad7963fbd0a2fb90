"""The receiver in docs/examples/webhook_receiver.py, served by uvicorn on 127.0.0.1, fed signed deliveries."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from docs.examples import webhook_receiver
from docs.examples.webhook_receiver import create_app
from litestar_payguard.webhooks import generate_secret, signature_header
from tests.support import listening, running

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "docs" / "examples" / "webhook_receiver.py"
SECRET, OLD = generate_secret(), generate_secret()


def body(payment: str = "pay_1") -> bytes:
    return b'{"type":"payment.succeeded","timestamp":"2026-12-03T07:00:00Z","data":{"id":"%s"}}' % payment.encode()


def delivery(
    content: bytes, msg_id: str = "evt_1", secrets: list[str] | None = None, at: int | None = None
) -> dict[str, Any]:
    at = int(time.time()) if at is None else at
    return {
        "content": content,
        "headers": {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(at),
            "webhook-signature": signature_header(msg_id, at, content, secrets or [SECRET]),
        },
    }


@asynccontextmanager
async def receiver(*secrets: str) -> AsyncIterator[tuple[httpx.AsyncClient, list[Any]]]:
    app = create_app(secrets or [SECRET])
    async with running(app), listening(app) as url, httpx.AsyncClient(base_url=url, trust_env=False) as client:
        yield client, app.state.events


async def test_a_signed_delivery_is_handled_once_and_its_retries_answered_without_acting_again() -> None:
    async with receiver() as (client, events):
        first = delivery(body())
        answers = [await client.post("/payguard-events", **first) for _ in range(3)]  # the same bytes replayed
        retried = await client.post("/payguard-events", **delivery(body(), at=int(time.time()) - 60))  # new attempt
        other = await client.post("/payguard-events", **delivery(body("pay_2"), msg_id="evt_2"))
    assert [answer.status_code for answer in [*answers, retried, other]] == [204] * 5
    assert [(event.id, event.data) for event in events] == [("evt_1", {"id": "pay_1"}), ("evt_2", {"id": "pay_2"})]


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda sent: {**sent, "content": sent["content"].replace(b"pay_1", b"pay_9")}, "no v1 signature"),
        (lambda sent: {**sent, "headers": {**sent["headers"], "webhook-id": "evt_9"}}, "no v1 signature"),
        (lambda sent: {**sent, "headers": {**sent["headers"], "webhook-signature": "v1,"}}, "no v1 signature"),
        (lambda sent: {**sent, "headers": {"Content-Type": "application/json"}}, "missing webhook headers"),
        (lambda _: delivery(body(), secrets=[generate_secret()]), "no v1 signature"),
        (lambda _: delivery(body(), at=int(time.time()) - 600), "s old"),
        (lambda _: delivery(body(), at=int(time.time()) + 600), "in the future"),
    ],
    ids=["tampered body", "other id", "empty signature", "no headers", "other secret", "stale", "future"],
)
async def test_a_delivery_that_does_not_verify_is_refused_with_400_and_not_handled(change: Any, complaint: str) -> None:
    async with receiver() as (client, events):
        answer = await client.post("/payguard-events", **change(delivery(body())))
        assert answer.status_code == 400
        assert complaint in answer.json()["detail"]
        assert SECRET.removeprefix("whsec_") not in answer.text
        assert events == []
        # A refused delivery leaves nothing behind: the genuine one with the same id is still handled.
        assert (await client.post("/payguard-events", **delivery(body()))).status_code == 204
        assert [event.id for event in events] == ["evt_1"]


async def test_during_a_rotation_deliveries_signed_with_either_secret_are_accepted() -> None:
    async with receiver(SECRET, OLD) as (client, events):
        both = await client.post("/payguard-events", **delivery(body(), "evt_1", [SECRET, OLD]))
        old_only = await client.post("/payguard-events", **delivery(body(), "evt_2", [OLD]))
        unknown = await client.post("/payguard-events", **delivery(body(), "evt_3", [generate_secret()]))
    assert [both.status_code, old_only.status_code, unknown.status_code] == [204, 204, 400]
    assert [event.id for event in events] == ["evt_1", "evt_2"]


async def test_an_event_whose_handling_failed_is_handled_on_the_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def failing_once(event: Any, state: Any) -> None:
        calls.append(event.id)
        if len(calls) == 1:
            raise RuntimeError("the database is down")
        state.events.append(event)

    monkeypatch.setattr(webhook_receiver, "handle", failing_once)
    async with receiver() as (client, events):
        failed = await client.post("/payguard-events", **delivery(body()))
        retried = await client.post("/payguard-events", **delivery(body()))
        again = await client.post("/payguard-events", **delivery(body()))
    assert [failed.status_code, retried.status_code, again.status_code] == [500, 204, 204]
    assert calls == ["evt_1", "evt_1"]
    assert [event.id for event in events] == ["evt_1"]


def test_the_secrets_come_from_the_environment_space_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_SECRETS", f"{SECRET} {OLD}")
    assert create_app().state.secrets == [SECRET, OLD]
    monkeypatch.delenv("WEBHOOK_SECRETS")
    with pytest.raises(KeyError):
        create_app()


def test_the_docs_show_the_example_file_as_it_is() -> None:
    """The guide includes the file itself (pymdownx.snippets), so the site shows what the tests run."""
    guide = (ROOT / "docs" / "webhooks.md").read_text()
    included = f'--8<-- "{EXAMPLE.relative_to(ROOT)}"\n'
    assert included in re.findall(r"```python\n(.*?)```", guide, flags=re.DOTALL)


async def test_the_docs_curl_example_delivers_to_the_receiver_once() -> None:
    guide = (ROOT / "docs" / "webhooks.md").read_text()
    script = guide.split("### Looking at a delivery with curl", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    async with receiver() as (client, events):
        ready = script.replace("whsec_…", SECRET).replace("http://127.0.0.1:8001", str(client.base_url).rstrip("/"))
        path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"  # `python` is this environment's
        answers = []
        for _ in range(2):
            process = await asyncio.create_subprocess_exec(
                "bash", "-euc", ready, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PATH": path}
            )
            out, _ = await process.communicate()
            assert process.returncode == 0
            answers.append(out.decode().splitlines()[0])
    assert [answer.split()[1] for answer in answers] == ["204", "204"]
    assert [(event.id, event.type) for event in events] == [("evt_curl_1", "webhook.test")]
