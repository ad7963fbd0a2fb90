"""The admin dashboard's routes: behind the admin guards, CSRF on every form, errors as pages, changes committed."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import ON_BOTH_DATABASES, Client, ClientFactory, Store, create_session
from tests.integration.test_payments_api import ACME, ORDERS, create_payment, flaky_fulfilment, seed_merchants
from tests.support import ADMIN, ALICE, work_off

DASHBOARD = "/payguard/admin/dashboard"
TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def _token(client: Client) -> str:
    page = await client.get(f"{DASHBOARD}/", headers=ADMIN)
    assert page.status_code == 200, page.text
    found = TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


async def _enabled(store: Store) -> bool:
    return bool(await store.scalar("SELECT enabled FROM payguard_job_control") in (None, True, 1))


@ON_BOTH_DATABASES
async def test_a_form_with_the_pages_token_changes_the_switch(client: Client, store: Store) -> None:
    token = await _token(client)

    stopped = await client.post(f"{DASHBOARD}/cleanup/stop", data={"_csrf_token": token}, headers=ADMIN)

    assert stopped.status_code == 303
    assert stopped.headers["location"] == f"{DASHBOARD}/?done=The+cleanup+is+stopped."
    assert await store.scalar("SELECT enabled FROM payguard_job_control") in (False, 0)
    page = await client.get(stopped.headers["location"], headers=ADMIN)
    assert 'id="cleanup-enabled">stopped' in page.text
    assert "The cleanup is stopped." in page.text


@ON_BOTH_DATABASES
async def test_a_form_without_the_token_is_refused_and_changes_nothing(client: Client, store: Store) -> None:
    await _token(client)  # the browser has its cookie; the forged form has no token, or a made-up one

    missing = await client.post(f"{DASHBOARD}/cleanup/stop", data={}, headers=ADMIN)
    forged = await client.post(f"{DASHBOARD}/cleanup/stop", data={"_csrf_token": "a" * 128}, headers=ADMIN)

    for response in (missing, forged):
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
        assert "CSRF token verification failed" in response.text
    assert await _enabled(store)


async def test_a_cookie_signed_with_another_key_is_replaced_on_the_next_page(client: Client, store: Store) -> None:
    client.cookies.set("payguard_csrf", "f" * 128, path=DASHBOARD)

    token = await _token(client)
    stopped = await client.post(f"{DASHBOARD}/cleanup/stop", data={"_csrf_token": token}, headers=ADMIN)

    assert stopped.status_code == 303
    assert not await _enabled(store)


@pytest.mark.parametrize(
    ("headers", "status", "text"),
    [({}, 401, "Sign in first."), ({**ALICE, "X-Role": "customer"}, 403, "Admins only.")],
)
async def test_the_dashboard_is_behind_the_admin_guards(
    client: Client, headers: dict[str, str], status: int, text: str
) -> None:
    response = await client.get(f"{DASHBOARD}/", headers=headers)

    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert text in response.text


async def test_pages_load_nothing_from_elsewhere_and_are_never_framed(client: Client) -> None:
    for path in ("/", "/attention", "/payments", "/refunds", "/webhooks", "/deliveries", "/events"):
        response = await client.get(f"{DASHBOARD}{path}", headers=ADMIN)

        assert response.status_code == 200, (path, response.text)
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "form-action 'self'" in policy
        assert response.headers["cache-control"] == "no-store"
        assert "<script" not in response.text


async def test_bad_filters_are_a_page_saying_so(client: Client) -> None:
    response = await client.get(f"{DASHBOARD}/payments", params={"status": "bogus"}, headers=ADMIN)

    assert response.status_code == 422
    assert "status &#39;bogus&#39; is not one of the known values." in response.text


async def _token_as(client: Client, headers: dict[str, str]) -> str:
    page = await client.get(f"{DASHBOARD}/attention", headers=headers)
    assert page.status_code == 200, page.text
    found = TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


async def test_a_flagged_payment_is_listed_and_resolved_from_its_form(client_for: ClientFactory, store: Store) -> None:
    await store.execute(ORDERS)
    await store.execute("TRUNCATE host_order")
    hook, _ = flaky_fulfilment(failures=100)
    admin = {**ACME, "X-Role": "admin"}  # the dashboard acts for the admin's merchant
    async with client_for(on_payment_succeeded=hook, fulfilment_max_attempts=1) as client:
        await seed_merchants(client)
        payment = await create_payment(client)
        await work_off(client.app)  # the hook fails: flagged, still processing
        listed = await client.get(f"{DASHBOARD}/attention", headers=admin)
        token = await _token_as(client, admin)
        resolved = await client.post(
            f"{DASHBOARD}/payments/{payment['id']}/resolve",
            data={"_csrf_token": token, "status": "succeeded"},
            headers=admin,
        )
        again = await client.post(
            f"{DASHBOARD}/payments/{payment['id']}/resolve",
            data={"_csrf_token": token, "status": "succeeded"},
            headers=admin,
        )
        after = await client.get(f"{DASHBOARD}/attention", headers=admin)

    assert payment["id"] in listed.text
    assert f"{DASHBOARD}/payments/{payment['id']}/retry-fulfilment" in listed.text
    assert resolved.status_code == 303
    assert await store.rows("SELECT status, needs_attention FROM payguard_payment") == [
        {"status": "succeeded", "needs_attention": False}
    ]
    assert again.status_code == 409  # a refusal is a page with its status and code
    assert "PAYMENT_NOT_FLAGGED" in again.text
    assert payment["id"] not in after.text


@ON_BOTH_DATABASES
async def test_an_endpoint_added_edited_and_disabled_from_the_forms(client: Client, store: Store) -> None:
    token = await _token(client)

    added = await client.post(
        f"{DASHBOARD}/webhooks",
        data={"_csrf_token": token, "url": "https://hooks.example/in", "eventTypes": "payment.*, refund.processed"},
        headers=ADMIN,
    )
    found = re.search(r'action="/payguard/admin/dashboard/webhooks/([0-9a-f-]{36})/test"', added.text)
    assert found is not None, added.text
    endpoint_id = found.group(1)
    edited = await client.post(
        f"{DASHBOARD}/webhooks/{endpoint_id}",
        data={"_csrf_token": token, "url": "https://hooks.example/v2", "eventTypes": "", "description": "v2"},
        headers=ADMIN,
    )
    state = f"{DASHBOARD}/webhooks/{endpoint_id}/state"
    disabled = await client.post(state, data={"_csrf_token": token, "enabled": "off"}, headers=ADMIN)
    odd = await client.post(state, data={"_csrf_token": token, "enabled": "maybe"}, headers=ADMIN)
    bad = await client.post(f"{DASHBOARD}/webhooks", data={"_csrf_token": token, "url": "not a url"}, headers=ADMIN)
    unknown = await client.post(
        f"{DASHBOARD}/webhooks",
        data={"_csrf_token": token, "url": "https://x.example", "eventTypes": "nope.x"},
        headers=ADMIN,
    )

    assert added.status_code == 200
    assert re.search(r'id="signing-secret">whsec_', added.text)
    assert edited.status_code == disabled.status_code == 303
    rows = await store.rows("SELECT url, description, enabled FROM payguard_webhook_endpoint")
    assert rows == [{"url": "https://hooks.example/v2", "description": "v2", "enabled": False}]
    assert bad.status_code == unknown.status_code == odd.status_code == 422
    assert await store.count("payguard_webhook_endpoint") == 1
    page = await client.get(f"{DASHBOARD}/webhooks/{endpoint_id}", headers=ADMIN)
    assert 'id="endpoint-state">disabled' in page.text
    assert "whsec_" not in page.text  # the secret is shown when made, never again


async def test_events_and_their_payloads_are_listed(client: Client) -> None:
    session = await create_session(client)

    listed = await client.get(f"{DASHBOARD}/events", params={"type": "session.*"}, headers=ADMIN)
    found = re.search(r'href="/payguard/admin/dashboard/events/([0-9a-f-]+)"', listed.text)
    assert found is not None
    detail = await client.get(f"{DASHBOARD}/events/{found.group(1)}", headers=ADMIN)

    assert listed.status_code == detail.status_code == 200
    assert "session.created" in listed.text
    assert session["id"] in detail.text
