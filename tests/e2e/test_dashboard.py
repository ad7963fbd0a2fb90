"""The admin dashboard in Chromium, signed in through the demo's login page: its switches and forms work, and a
form without the page's CSRF token changes nothing."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages import PageDemo, PageFactory
from tests.integration.webhooks.receiver import Answer, Receiver, receiver

DASHBOARD = "/payguard/admin/dashboard"


def _admin_page(pages: PageFactory, demo: PageDemo, path: str = "/") -> Page:
    page = pages.new()
    page.goto(f"{demo.origin}/login?next={DASHBOARD}{path}")
    page.get_by_label("Username").fill("admin")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{demo.origin}{DASHBOARD}{path}")
    return page


def _reload_until(page: Page, selector: str, pattern: str, limit: float = 20) -> None:
    deadline = time.monotonic() + limit
    while not re.search(pattern, page.locator(selector).inner_text()):
        if time.monotonic() > deadline:
            expect(page.locator(selector)).to_have_text(re.compile(pattern))  # fails with the page's text
        page.wait_for_timeout(300)
        page.reload()


@pytest.fixture
def failing_then_ok() -> Iterator[Receiver]:
    with receiver(Answer(status=500), Answer(status=204)) as rx:
        yield rx


def test_stopping_and_starting_the_cleanup(pages: PageFactory, pages_demo: PageDemo) -> None:
    page = _admin_page(pages, pages_demo)
    expect(page.locator("#cleanup-enabled")).to_have_text("running")

    page.get_by_role("button", name="Stop the cleanup").click()
    expect(page.get_by_role("status")).to_have_text("The cleanup is stopped.")
    expect(page.locator("#cleanup-enabled")).to_have_text("stopped")
    page.get_by_role("button", name="Start the cleanup").click()

    expect(page.locator("#cleanup-enabled")).to_have_text("running")
    page.get_by_role("button", name="Run the cleanup now").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^Cleanup done: \d+ payments expired\.$"))


def test_a_failed_delivery_is_retried_and_a_secret_rotated(
    pages: PageFactory, pages_demo: PageDemo, failing_then_ok: Receiver
) -> None:
    page = _admin_page(pages, pages_demo, "/webhooks")
    page.get_by_label("URL").fill(f"{failing_then_ok.url}/hooks")
    page.get_by_label("Description").fill("dashboard test receiver")
    page.get_by_role("button", name="Add the endpoint").click()
    first_secret = page.locator("#signing-secret").inner_text()
    assert first_secret.startswith("whsec_")

    page.get_by_role("button", name="Rotate the secret").click()
    second_secret = page.locator("#signing-secret").inner_text()
    assert second_secret.startswith("whsec_")
    assert second_secret != first_secret
    expect(page.get_by_text(re.compile("signed with both the old and the new secret"))).to_be_visible()

    page.get_by_role("button", name="Send a test event").click()
    expect(page.get_by_role("status")).to_have_text(re.compile("A test event is on its way"))
    page.get_by_role("link", name="Its deliveries").click()
    _reload_until(page, "tbody tr", r"\bfailed\b")  # its one attempt got a 500
    page.locator("tbody tr").first.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_have_text("A new attempt is queued.")
    expect(page.locator("summary").first).to_have_text(re.compile(r"#1 \(\w+\) at .*: HTTP 500"))

    _reload_until(page, "#delivery-status", "^delivered$")
    expect(page.locator("summary").last).to_have_text(re.compile(r"#2 \(manual\) .*HTTP 204"))
    assert len(failing_then_ok.received) == 2
    # Both signatures on the delivery: the rotation's grace is on.
    assert len(failing_then_ok.received[-1].headers["webhook-signature"].split()) == 2


def test_lists_show_money_in_the_currencys_units(pages: PageFactory, pages_demo: PageDemo) -> None:
    customer, session = pages_demo.new_session()
    pages_demo.http.post(
        f"/payguard/sessions/{session['id']}/complete", json={"gatewayPaymentId": "sim_pay_dash"}, headers=customer
    )
    page = _admin_page(pages, pages_demo, f"/payments?customerId={customer_name(pages_demo, customer)}")

    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody td.number").first).to_have_text("9.00 USD")


def customer_name(demo: PageDemo, headers: dict[str, str]) -> str:
    return str(demo.http.get("/me", headers=headers).json()["username"])


def test_a_form_from_elsewhere_changes_nothing(pages: PageFactory, pages_demo: PageDemo) -> None:
    page = _admin_page(pages, pages_demo)
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    session_only = {"demo_session": cookies["demo_session"]}  # a forged form: the admin's login, not the token

    forged = httpx.post(
        f"{pages_demo.origin}{DASHBOARD}/cleanup/stop", data={"_csrf_token": "forged"}, cookies=session_only
    )

    assert forged.status_code == 403
    assert "CSRF token verification failed" in forged.text
    page.reload()
    expect(page.locator("#cleanup-enabled")).to_have_text("running")


def test_the_dashboard_needs_an_admin(pages: PageFactory, pages_demo: PageDemo) -> None:
    page = pages.new()
    anonymous = page.goto(f"{pages_demo.origin}{DASHBOARD}/")
    assert anonymous is not None
    assert anonymous.status == 401
    expect(page.get_by_role("alert")).to_have_text(re.compile("Log in first"))

    page.goto(f"{pages_demo.origin}/login?next={DASHBOARD}/")
    page.get_by_label("Username").fill("shopper")
    page.get_by_role("button", name="Log in").click()
    assert page.locator("h1").inner_text() == "Forbidden"


def test_a_form_posted_again_by_a_reload_is_applied_once_and_shows_its_answer(
    pages: PageFactory, pages_demo: PageDemo, failing_then_ok: Receiver
) -> None:
    page = _admin_page(pages, pages_demo, "/webhooks")
    url = f"{failing_then_ok.url}/reloaded-{time.monotonic_ns()}"
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.get_by_label("URL").fill(url)
    page.get_by_role("button", name="Add the endpoint").click()
    secret = page.locator("#signing-secret").inner_text()

    page.reload()  # the answer is a page, not a redirect: the browser posts the form again

    assert len(posts) == 2
    expect(page.locator("#signing-secret")).to_have_text(secret)
    page.goto(f"{pages_demo.origin}{DASHBOARD}/webhooks")
    expect(page.locator("tbody tr", has_text=url)).to_have_count(1)
