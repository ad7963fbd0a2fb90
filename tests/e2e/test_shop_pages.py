"""The demo as a shop a person uses, in Chromium: log in, fill the cart, pay in payguard's modal, see the order."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.pages import PageDemo, PageFactory


def test_a_shopper_logs_in_buys_in_the_modal_and_sees_the_order(pages: PageFactory, pages_demo: PageDemo) -> None:
    page = pages.new()
    page.goto(f"{pages_demo.origin}/")
    expect(page.locator("h1")).to_have_text("Products")
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Username").fill("web-shopper")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out web-shopper")).to_be_visible()

    page.locator(".product", has_text="Pro, monthly").get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_have_text("Added to your cart.")
    page.goto(f"{pages_demo.origin}/")
    page.locator(".product", has_text="Starter, monthly").get_by_role("button", name="Add to cart").click()
    expect(page.locator("#total")).to_have_text("38.00 USD")
    page.get_by_role("button", name="Check out").click()
    expect(page.locator("#hosted-page")).to_have_attribute("href", re.compile(r"/payguard/checkout/[0-9a-f-]+#pgcs_"))
    page.get_by_role("button", name="Pay now").click()
    checkout = page.frame_locator("[data-payguard-checkout] iframe")
    expect(checkout.locator("#amount")).to_have_text("$38.00")
    checkout.locator("#pay").click()
    checkout.locator("#test-succeed").click()

    page.wait_for_url(re.compile(r"/orders\?paid="), timeout=20_000)
    expect(page.locator("tbody tr")).to_have_count(1, timeout=20_000)  # made by the fulfilment hook
    expect(page.locator("tbody td").nth(1)).to_have_text("1 \u00d7 Pro, monthly, 1 \u00d7 Starter, monthly")
    expect(page.locator("tbody td.number")).to_have_text("38.00 USD")


def test_a_browser_gets_the_front_page_and_an_api_client_the_json_index(pages_demo: PageDemo) -> None:
    page = pages_demo.http.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    api = pages_demo.http.get("/")

    assert page.headers["content-type"].startswith("text/html")
    assert "Add to cart" in page.text
    assert api.json()["shop"] == "payguard demo shop"


def test_the_cart_needs_a_login_and_comes_back_after_it(pages: PageFactory, pages_demo: PageDemo) -> None:
    page = pages.new()
    page.goto(f"{pages_demo.origin}/cart")
    page.wait_for_url(f"{pages_demo.origin}/login?next=/cart")
    page.get_by_label("Username").fill("returning-shopper")
    page.get_by_role("button", name="Log in").click()

    page.wait_for_url(f"{pages_demo.origin}/cart")
    expect(page.locator("h1")).to_have_text("Your cart")
