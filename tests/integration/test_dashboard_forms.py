"""Dashboard forms posted twice (a double click, a reload that posts again) are applied once, on both databases.

Each rendered form carries a one-time key; the second post of the same form gets the first one's page.
"""

from __future__ import annotations

import asyncio
import re
from uuid import UUID

from litestar_payguard.models import WebhookEndpoint
from litestar_payguard.pages import DASHBOARD_HEADERS
from litestar_payguard.services.webhooks.outbound import SecretBox
from tests.hostapp import TEST_WEBHOOK_SECRET_KEY
from tests.integration.conftest import ON_BOTH_DATABASES, Client, ClientFactory, Store, payguard_of
from tests.support import ADMIN

DASHBOARD = "/payguard/admin/dashboard"
SECRET = re.compile(r'id="signing-secret">(whsec_[^<]+)<')


async def _form(client: Client, page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` on the dashboard page ``page``."""
    html = (await client.get(f"{DASHBOARD}{page}", headers=ADMIN)).text
    found = re.search(
        rf'action="{re.escape(DASHBOARD + action)}"[^>]*><input type="hidden" name="_csrf_token" value="([^"]+)">'
        r'<input type="hidden" name="_form_key" value="([^"]+)">',
        html,
    )
    assert found is not None, html
    return {"_csrf_token": found.group(1), "_form_key": found.group(2)}


def _secret(html: str) -> str:
    found = SECRET.search(html)
    assert found is not None, html
    return found.group(1)


async def _add_endpoint(client: Client, url: str) -> tuple[str, str]:
    added = await client.post(
        f"{DASHBOARD}/webhooks", data={**await _form(client, "/webhooks", "/webhooks"), "url": url}, headers=ADMIN
    )
    found = re.search(r'action="/payguard/admin/dashboard/webhooks/([0-9a-f-]{36})/test"', added.text)
    assert found is not None, added.text
    return found.group(1), _secret(added.text)


@ON_BOTH_DATABASES
async def test_a_new_endpoint_form_posted_twice_adds_one_endpoint_and_shows_its_secret_again(
    client: Client, store: Store
) -> None:
    form = {**await _form(client, "/webhooks", "/webhooks"), "url": "https://hooks.example/once"}

    first = await client.post(f"{DASHBOARD}/webhooks", data=form, headers=ADMIN)
    again = await client.post(f"{DASHBOARD}/webhooks", data=form, headers=ADMIN)

    assert (first.status_code, again.status_code) == (200, 200)
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert _secret(again.text) == _secret(first.text)
    for name, value in DASHBOARD_HEADERS.items():  # the page shows a secret: never cached, never framed
        assert (again.headers.get(name), first.headers.get(name)) == (value, value)
    assert "set-cookie" not in again.headers
    assert await store.count("payguard_webhook_endpoint") == 1


@ON_BOTH_DATABASES
async def test_a_rotation_double_clicked_rotates_once_and_the_old_secret_keeps_signing(
    client: Client, store: Store
) -> None:
    endpoint_id, original = await _add_endpoint(client, "https://hooks.example/rotate")
    rotate = f"/webhooks/{endpoint_id}/rotate-secret"
    form = await _form(client, f"/webhooks/{endpoint_id}", rotate)

    answers = await asyncio.gather(*(client.post(f"{DASHBOARD}{rotate}", data=form, headers=ADMIN) for _ in "ab"))

    assert [answer.status_code for answer in answers] == [200, 200]
    assert sorted(answer.headers.get("idempotent-replayed", "no") for answer in answers) == ["no", "true"]
    assert _secret(answers[0].text) == _secret(answers[1].text) != original
    async with payguard_of(client.app).db_session() as db:
        row = await db.get_one(WebhookEndpoint, UUID(endpoint_id))
        box = SecretBox(TEST_WEBHOOK_SECRET_KEY)
        assert box.unseal(row.secret, context=endpoint_id) == _secret(answers[0].text)
        assert row.previous_secret is not None
        assert box.unseal(row.previous_secret, context=endpoint_id) == original  # the receiver's still signs
    assert await store.count("payguard_webhook_endpoint") == 1


@ON_BOTH_DATABASES
async def test_the_same_form_sent_again_with_other_values_is_a_new_submission(client: Client, store: Store) -> None:
    form = await _form(client, "/webhooks", "/webhooks")

    first = await client.post(f"{DASHBOARD}/webhooks", data={**form, "url": "https://hooks.example/a"}, headers=ADMIN)
    changed = await client.post(f"{DASHBOARD}/webhooks", data={**form, "url": "https://hooks.example/b"}, headers=ADMIN)

    assert (first.status_code, changed.status_code) == (200, 200)
    assert "idempotent-replayed" not in changed.headers
    assert _secret(first.text) != _secret(changed.text)
    urls = await store.rows("SELECT url FROM payguard_webhook_endpoint ORDER BY url")
    assert urls == [{"url": "https://hooks.example/a"}, {"url": "https://hooks.example/b"}]


@ON_BOTH_DATABASES
async def test_a_redirecting_form_posted_again_replays_its_redirect_and_a_refused_one_runs_again(
    client: Client, store: Store
) -> None:
    form = await _form(client, "/", "/cleanup/stop")

    stopped = await client.post(f"{DASHBOARD}/cleanup/stop", data=form, headers=ADMIN)
    await store.execute("UPDATE payguard_job_control SET enabled = true")  # started again meanwhile
    again = await client.post(f"{DASHBOARD}/cleanup/stop", data=form, headers=ADMIN)

    assert (stopped.status_code, again.status_code) == (303, 303)
    assert again.headers["location"] == stopped.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await store.scalar("SELECT enabled FROM payguard_job_control") in (True, 1)  # not applied a second time

    bad = {**await _form(client, "/webhooks", "/webhooks"), "url": "not a url"}
    refusals = [await client.post(f"{DASHBOARD}/webhooks", data=bad, headers=ADMIN) for _ in "ab"]
    assert [refusal.status_code for refusal in refusals] == [422, 422]  # a refusal stores nothing: it runs again
    assert "idempotent-replayed" not in refusals[1].headers


@ON_BOTH_DATABASES
async def test_a_form_whose_stored_answer_cannot_be_opened_is_refused_with_a_page(
    client_for: ClientFactory, store: Store
) -> None:
    async with client_for() as client:
        form = {**await _form(client, "/webhooks", "/webhooks"), "url": "https://hooks.example/sealed"}
        first = await client.post(f"{DASHBOARD}/webhooks", data=form, headers=ADMIN)
    async with client_for(webhook_secret_key=None) as client:  # the key removed, the page reloaded
        client.cookies.update(dict(first.cookies))
        again = await client.post(f"{DASHBOARD}/webhooks", data=form, headers=ADMIN)

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("text/html")
    assert again.headers["cache-control"] == "no-store"
    assert "IDEMPOTENCY_REPLAY_UNREADABLE" in again.text
    assert "whsec_" not in again.text
    assert await store.count("payguard_webhook_endpoint") == 1


async def test_processes_sharing_the_webhook_key_accept_each_others_forms_without_a_csrf_secret(
    client_for: ClientFactory, store: Store
) -> None:
    async with client_for() as first:  # webhook_secret_key set, admin_csrf_secret not
        form = await _form(first, "/", "/cleanup/stop")
        cookies = dict(first.cookies)
    async with client_for() as second:  # another process: same settings, its own start
        second.cookies.update(cookies)
        stopped = await second.post(f"{DASHBOARD}/cleanup/stop", data=form, headers=ADMIN)
    async with client_for(webhook_secret_key=None) as unkeyed:  # neither key: a random one of its own
        unkeyed.cookies.update(cookies)
        refused = await unkeyed.post(f"{DASHBOARD}/cleanup/start", data=form, headers=ADMIN)

    assert stopped.status_code == 303, stopped.text
    assert refused.status_code == 403
    assert "CSRF token verification failed" in refused.text
    assert await store.scalar("SELECT enabled FROM payguard_job_control") in (False, 0)


async def test_a_form_too_large_or_a_wrong_route_is_a_page(client: Client, store: Store) -> None:
    form = await _form(client, "/", "/cleanup/stop")
    too_large = await client.post(f"{DASHBOARD}/cleanup/stop", data={**form, "pad": "x" * 70_000}, headers=ADMIN)
    wrong_method = await client.get(f"{DASHBOARD}/cleanup/stop", headers=ADMIN)
    unknown = await client.get(f"{DASHBOARD}/nope", headers=ADMIN)

    for response, status in ((too_large, 413), (wrong_method, 405), (unknown, 404)):
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("text/html"), response.text
        assert response.headers["cache-control"] == "no-store"
    assert "PAYLOAD_TOO_LARGE" in too_large.text
    assert await store.scalar("SELECT enabled FROM payguard_job_control") in (None, True, 1)


@ON_BOTH_DATABASES
async def test_a_form_with_an_unusual_body_still_carries_its_key(client: Client, store: Store) -> None:
    bodies = {
        "raw non-ASCII byte": "url=https://hooks.example/caf\u00e9".encode(),
        "more than 100 fields": ("url=https://hooks.example/many&" + "&".join(f"f{n}=x" for n in range(150))).encode(),
    }
    headers = {**ADMIN, "content-type": "application/x-www-form-urlencoded"}
    for name, body in bodies.items():
        fields = await _form(client, "/webhooks", "/webhooks")  # a page rendered for each: its own key
        content = f"_csrf_token={fields['_csrf_token']}&_form_key={fields['_form_key']}&".encode() + body
        posted = [await client.post(f"{DASHBOARD}/webhooks", content=content, headers=headers) for _ in "ab"]
        assert [response.status_code for response in posted] == [200, 200], (name, posted[0].text)
        assert posted[1].headers.get("idempotent-replayed") == "true", name
    assert await store.count("payguard_webhook_endpoint") == len(bodies)

    fields = await _form(client, "/webhooks", "/webhooks")
    empty = {**fields, "_form_key": "", "url": "https://hooks.example/empty-key"}
    refused = await client.post(f"{DASHBOARD}/webhooks", data=empty, headers=ADMIN)
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("text/html")
    assert "IDEMPOTENCY_KEY_INVALID" in refused.text
    assert await store.count("payguard_webhook_endpoint") == len(bodies)
