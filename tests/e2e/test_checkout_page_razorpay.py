"""The hosted checkout page paying with Razorpay Checkout: the demo on Razorpay test keys, against the local fake.

The fake serves a Checkout script with Razorpay's interface (``litestar_payguard/testing/razorpay/checkout.js``):
the page loads it (its origin is the only one the page's policy adds), opens it for the session's order, and posts
its signed result to ``complete``; the demo's worker then captures the payment at the fake.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from litestar_payguard.testing.razorpay import FakeRazorpay
from tests.e2e.conftest import page_demo
from tests.e2e.pages import PageDemo, PageFactory

KEYS = ("rzp_test_payguard", "fake_key_secret", "fake_webhook_secret")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeRazorpay]:
    with FakeRazorpay(*KEYS) as running:
        yield running


@pytest.fixture(scope="module")
def razorpay_demo(fake: FakeRazorpay, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageDemo]:
    key_id, key_secret, webhook_secret = KEYS
    env = {
        "RAZORPAY_KEY_ID": key_id,
        "RAZORPAY_KEY_SECRET": key_secret,
        "RAZORPAY_WEBHOOK_SECRET": webhook_secret,
        "RAZORPAY_BASE_URL": fake.url,
    }
    with page_demo(tmp_path_factory.mktemp("razorpay-demo"), env) as demo:
        yield demo


@pytest.fixture
def razorpay_pages(
    browser: Browser,
    razorpay_demo: PageDemo,
    fake: FakeRazorpay,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> Iterator[PageFactory]:
    factory = PageFactory(browser=browser, origins=(razorpay_demo.origin, fake.url))
    try:
        yield factory
    finally:
        factory.close(request.node, tmp_path)


def test_paying_in_razorpay_checkout_completes_the_session(
    razorpay_pages: PageFactory, razorpay_demo: PageDemo, fake: FakeRazorpay
) -> None:
    customer, session = razorpay_demo.new_session()
    page = razorpay_pages.checkout(session["checkoutUrl"])

    page.locator("#pay").click()
    expect(page.locator("#test-gateway")).to_be_hidden()  # Razorpay's checkout, not the test panel
    page.locator("#fake-razorpay-pay").click()

    expect(page.locator("#status")).to_have_text("Paid. Thank you!", timeout=20_000)
    paid = razorpay_demo.session(session["id"], customer)
    assert paid["payment"]["status"] == "succeeded"
    assert fake.capture_count() >= 1
    assert razorpay_pages.refused == []
    assert all(session["clientSecret"] not in url for url in razorpay_pages.requested)


def test_a_failure_in_razorpay_checkout_interrupts_the_attempt(
    razorpay_pages: PageFactory, razorpay_demo: PageDemo
) -> None:
    customer, session = razorpay_demo.new_session()
    page = razorpay_pages.checkout(session["checkoutUrl"])

    page.locator("#pay").click()
    page.locator("#fake-razorpay-fail").click()

    expect(page.locator("#status")).to_have_text(re.compile("declined by the bank"), timeout=10_000)
    after = razorpay_demo.session(session["id"], customer)
    assert after["lastInterruption"]["kind"] == "gateway"
    expect(page.locator("#retry")).to_be_enabled(timeout=5_000)
    page.locator("#retry").click()
    expect(page.locator("#attempt")).to_have_text("Attempt 2 of 3")
    page.locator("#pay").click()
    page.locator("#fake-razorpay-pay").click()
    expect(page.locator("#status")).to_have_text("Paid. Thank you!", timeout=20_000)


def test_closing_razorpay_checkout_ends_the_attempt_as_the_customers(
    razorpay_pages: PageFactory, razorpay_demo: PageDemo
) -> None:
    customer, session = razorpay_demo.new_session()
    page = razorpay_pages.checkout(session["checkoutUrl"])

    page.locator("#pay").click()
    page.locator("#fake-razorpay-close").click()

    expect(page.locator("#status")).to_have_text("The attempt was stopped.", timeout=10_000)
    assert razorpay_demo.session(session["id"], customer)["lastInterruption"]["kind"] == "user"
