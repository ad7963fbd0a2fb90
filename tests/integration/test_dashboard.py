"""The admin dashboard's routes: behind the admin guards, CSRF on every form, errors as pages, changes committed."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import ON_BOTH_DATABASES, Client, Store
from tests.support import ADMIN, ALICE

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
