"""The hosted checkout page in Chromium, against the demo: paying, interruptions, retries, the final states.

The demo's attempts last 8 s here, with a 2 s retry delay and a 500 ms poll (``PAGE_POLICY``).
"""

from __future__ import annotations

import re
import time
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.pages import PageDemo, PageFactory, Shop

PHONE = {"viewport": {"width": 375, "height": 740}, "has_touch": True, "is_mobile": True}


def _pay(page: Page, *, decline: bool = False) -> None:
    page.locator("#pay").click()
    page.locator("#test-decline" if decline else "#test-succeed").click()


def _wait_for(demo: PageDemo, session_id: str, headers: dict[str, str], until: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        session = demo.session(session_id, headers)
        if until(session) or time.monotonic() > deadline:
            return session
        time.sleep(0.1)


def _secret_never_sent(pages: PageFactory, demo: PageDemo, secret: str) -> None:
    assert pages.requested, "the page made no request"
    assert all(secret not in url for url in pages.requested)
    assert secret not in demo.log.read_text()
    assert pages.refused == []


def test_paying_succeeds_and_returns_to_the_shop(pages: PageFactory, pages_demo: PageDemo, shop: Shop) -> None:
    customer = pages_demo.customer()
    session = pages_demo.open_session(customer, successUrl=f"{shop.origin}/orders/42")
    page = pages.checkout(session["checkoutUrl"])

    expect(page.locator("#amount")).to_have_text("$9.00")
    expect(page.locator("#plan")).to_have_text("Starter, monthly")
    expect(page.locator("#attempt")).to_have_text("Attempt 1 of 3")
    expect(page.locator("#countdown")).to_have_text(re.compile(r"Time left 0:0[5-8]"))
    _pay(page)

    page.wait_for_url(f"{shop.origin}/orders/42", timeout=20_000)
    assert pages_demo.session(session["id"], customer)["status"] == "completed"
    _secret_never_sent(pages, pages_demo, session["clientSecret"])


def test_a_timeout_shows_then_retry_after_the_delay_pays(pages: PageFactory, pages_demo: PageDemo) -> None:
    customer, session = pages_demo.new_session()
    page = pages.checkout(session["checkoutUrl"])

    expect(page.locator("#status")).to_have_text("The attempt timed out.", timeout=20_000)
    retry = page.locator("#retry")
    expect(retry).to_be_disabled()
    expect(retry).to_have_text(re.compile(r"Retry in \d s"))
    expect(retry).to_be_enabled(timeout=5_000)
    retry.click()
    expect(page.locator("#attempt")).to_have_text("Attempt 2 of 3")
    _pay(page)

    expect(page.locator("#status")).to_have_text("Paid. Thank you!", timeout=20_000)
    summary = pages_demo.summary(session["id"], customer)
    assert summary["interruptions"]["timeout"] == 1
    assert summary["outcome"] == "completed"


def test_going_offline_mid_attempt_is_a_network_interruption(pages: PageFactory, pages_demo: PageDemo) -> None:
    customer, session = pages_demo.new_session()
    page = pages.checkout(session["checkoutUrl"])
    page.locator("#pay").click()
    expect(page.locator("#test-gateway")).to_be_visible()

    page.context.set_offline(True)
    expect(page.locator("#status")).to_have_text(re.compile("connection was lost"))
    page.wait_for_timeout(1_500)
    page.context.set_offline(False)

    expect(page.locator("#status")).to_have_text("The connection was lost during the attempt.", timeout=10_000)
    interrupted = pages_demo.session(session["id"], customer)
    assert interrupted["status"] == "interrupted"
    assert interrupted["lastInterruption"]["kind"] == "network"
    expect(page.locator("#retry")).to_be_enabled(timeout=5_000)
    page.locator("#retry").click()
    _pay(page)
    expect(page.locator("#status")).to_have_text("Paid. Thank you!", timeout=20_000)


def test_three_declines_fail_the_session_and_a_fourth_attempt_is_refused(
    pages: PageFactory, pages_demo: PageDemo
) -> None:
    customer, session = pages_demo.new_session()
    page = pages.checkout(session["checkoutUrl"])
    retry = page.locator("#retry")
    for attempt in (1, 2, 3):
        expect(page.locator("#attempt")).to_have_text(f"Attempt {attempt} of 3")
        _pay(page, decline=True)
        expect(page.locator("#status")).to_have_text(re.compile("^The payment was declined"), timeout=20_000)
        expect(retry).to_be_enabled(timeout=5_000)
        retry.click()

    expect(page.locator("#status")).to_have_text("The payment failed. All 3 attempts were used.", timeout=10_000)
    expect(retry).to_be_hidden()
    expect(page.locator("#pay")).to_be_hidden()
    refused = pages_demo.http.post(f"/payguard/sessions/{session['id']}/resume", headers=customer)
    assert (refused.status_code, refused.json()["code"]) == (409, "SESSION_FAILED")
    assert pages_demo.session(session["id"], customer)["payment"]["status"] == "failed"


def test_a_reload_mid_attempt_carries_on_with_the_same_attempt(pages: PageFactory, pages_demo: PageDemo) -> None:
    customer, session = pages_demo.new_session()
    page = pages.checkout(session["checkoutUrl"])
    expect(page.locator("#countdown")).to_have_text(re.compile(r"Time left 0:0\d"))
    page.wait_for_timeout(2_000)

    page.reload()

    expect(page.locator("#attempt")).to_have_text("Attempt 1 of 3")
    countdown = page.locator("#countdown")
    expect(countdown).to_have_text(re.compile(r"Time left 0:0[1-6]"))  # it went on: 8 s minus the time gone
    after = pages_demo.session(session["id"], customer)
    assert (after["status"], after["attempt"]) == ("active", 1)
    assert after["attemptDeadline"] == session["attemptDeadline"]
    _pay(page)
    expect(page.locator("#status")).to_have_text("Paid. Thank you!", timeout=20_000)


def test_leaving_mid_attempt_records_an_unload_interruption(pages: PageFactory, pages_demo: PageDemo) -> None:
    customer, session = pages_demo.new_session()
    page = pages.checkout(session["checkoutUrl"])
    page.locator("#pay").click()
    expect(page.locator("#test-gateway")).to_be_visible()
    warnings: list[str] = []

    def leave_anyway(dialog: Any) -> None:
        warnings.append(dialog.type)
        dialog.accept()

    page.on("dialog", leave_anyway)
    page.goto(f"{pages_demo.origin}/products")

    left = _wait_for(pages_demo, session["id"], customer, lambda s: s["status"] != "active")
    assert left["status"] == "interrupted"
    assert left["lastInterruption"]["kind"] == "unload"
    assert warnings == ["beforeunload"]


def test_no_warning_and_no_interruption_when_leaving_before_paying(pages: PageFactory, pages_demo: PageDemo) -> None:
    customer, session = pages_demo.new_session()
    page = pages.checkout(session["checkoutUrl"])
    warnings: list[str] = []
    page.on("dialog", lambda dialog: (warnings.append(dialog.type), dialog.accept()))

    page.goto(f"{pages_demo.origin}/products")
    page.wait_for_timeout(500)

    assert warnings == []
    assert pages_demo.session(session["id"], customer)["status"] == "active"


def test_a_phone_sized_screen_and_the_keyboard_can_pay(pages: PageFactory, pages_demo: PageDemo) -> None:
    customer = pages_demo.customer()
    session = pages_demo.open_session(customer)
    page = pages.checkout(session["checkoutUrl"], **PHONE)

    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375  # nothing wider than the screen
    for control in ("#pay", "#cancel"):
        box = page.locator(control).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 375
        assert box["height"] >= 44  # a finger's size
    expect(page.locator("#status")).to_have_attribute("aria-live", "polite")
    page.keyboard.press("Tab")  # the first control of the page
    expect(page.locator("#pay")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#test-succeed")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_have_text("Paid. Thank you!", timeout=20_000)


def test_cancelling_returns_to_the_cancel_url(pages: PageFactory, pages_demo: PageDemo, shop: Shop) -> None:
    customer = pages_demo.customer()
    session = pages_demo.open_session(customer, cancelUrl=f"{shop.origin}/cart")
    page = pages.checkout(session["checkoutUrl"])

    page.locator("#cancel").click()

    page.wait_for_url(f"{shop.origin}/cart", timeout=10_000)
    assert pages_demo.session(session["id"], customer)["status"] == "cancelled"


def test_a_wrong_secret_shows_not_found(pages: PageFactory, pages_demo: PageDemo) -> None:
    customer = pages_demo.customer()
    session = pages_demo.open_session(customer)
    other = pages_demo.open_session(pages_demo.customer())
    page = pages.new()

    page.goto(session["checkoutUrl"].split("#")[0] + "#" + other["clientSecret"])

    expect(page.locator("#amount")).to_have_text("Checkout not found")
    expect(page.locator("#pay")).to_be_hidden()
    assert pages_demo.session(session["id"], customer)["status"] == "active"
