"""checkout.js on a merchant's page of another origin, in Chromium: the modal, its reports, and who it believes."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import FrameLocator, Page, expect

from tests.e2e.pages import PageDemo, PageFactory, Shop, docs_embed

MODAL = "[data-payguard-checkout]"


def _shop_with_checkout(pages: PageFactory, shop_origin: str, session: dict[str, Any]) -> tuple[Page, FrameLocator]:
    page = pages.new()
    page.goto(f"{shop_origin}/shop")
    # The merchant's page got checkoutUrl from its server (the secret is in no URL the shop loads).
    page.evaluate("url => { window.checkoutUrl = url; }", session["checkoutUrl"])
    page.locator("#buy").click()
    return page, page.frame_locator(f"{MODAL} iframe")


def _results(page: Page) -> list[Any]:
    return list(page.evaluate("() => window.results"))


def test_a_payment_in_the_modal_calls_on_success_with_the_ids(
    pages: PageFactory, pages_demo: PageDemo, shop: Shop
) -> None:
    customer = pages_demo.customer()
    session = pages_demo.open_session(customer)
    page, checkout = _shop_with_checkout(pages, shop.origin, session)

    checkout.locator("#pay").click()
    checkout.locator("#test-succeed").click()

    expect(page.locator(MODAL)).to_have_count(0, timeout=20_000)
    assert _results(page) == [
        ["success", {"sessionId": session["id"], "paymentId": session["payment"]["id"], "status": "completed"}]
    ]
    assert pages_demo.session(session["id"], customer)["status"] == "completed"
    assert all(session["clientSecret"] not in url for url in pages.requested)


def test_escape_and_the_close_button_call_on_close(pages: PageFactory, pages_demo: PageDemo, shop: Shop) -> None:
    session = pages_demo.open_session(pages_demo.customer())
    page, checkout = _shop_with_checkout(pages, shop.origin, session)
    expect(checkout.locator("#attempt")).to_have_text("Attempt 1 of 3")

    page.keyboard.press("Escape")
    expect(page.locator(MODAL)).to_have_count(0)
    page.locator("#buy").click()
    page.get_by_role("button", name="Close checkout").click()

    expect(page.locator(MODAL)).to_have_count(0)
    assert _results(page) == [["close"], ["close"]]


def test_reports_from_another_origin_or_frame_are_ignored(pages: PageFactory, pages_demo: PageDemo, shop: Shop) -> None:
    session = pages_demo.open_session(pages_demo.customer())
    page, checkout = _shop_with_checkout(pages, shop.origin, session)
    expect(checkout.locator("#attempt")).to_have_text("Attempt 1 of 3")
    page.evaluate(
        """() => {
            window.seen = [];
            window.addEventListener("message", e => window.seen.push([e.origin, e.data.type]));
            window.postMessage({source: "payguard", type: "payment.succeeded", sessionId: "forged"}, "*");
        }"""
    )

    page.evaluate(
        """url => new Promise(done => {
            const frame = document.createElement("iframe");
            frame.src = url;
            frame.onload = () => setTimeout(done, 300);
            document.body.appendChild(frame);
        })""",
        f"{shop.other_origin}/forger",
    )

    seen = page.evaluate("() => window.seen")
    assert [shop.origin, "payment.succeeded"] in seen  # the page's own forgery arrived,
    assert [shop.other_origin, "payment.succeeded"] in seen  # and the other origin's,
    assert _results(page) == []  # and neither was believed
    expect(page.locator(MODAL)).to_have_count(1)


def test_an_origin_the_merchant_never_allowed_cannot_embed_the_page(
    pages: PageFactory, pages_demo: PageDemo, shop: Shop
) -> None:
    session = pages_demo.open_session(pages_demo.customer())
    page, checkout = _shop_with_checkout(pages, shop.other_origin, session)

    page.wait_for_timeout(1_000)

    expect(checkout.locator("#attempt")).to_have_count(0)
    assert not any(frame.url.startswith(pages_demo.origin) and frame.title() for frame in page.frames[1:])


def test_the_embedding_the_docs_show_pays_in_ten_lines(pages: PageFactory, shop: Shop) -> None:
    assert len(docs_embed().splitlines()) == 10
    page = pages.new()
    page.goto(f"{shop.origin}/docs-shop")

    page.locator("#pay").click()
    checkout = page.frame_locator(f"{MODAL} iframe")
    checkout.locator("#pay").click()
    checkout.locator("#test-succeed").click()

    page.wait_for_url(f"{shop.origin}/orders?session=*", timeout=20_000)
    expect(page.locator(MODAL)).to_have_count(0)


def test_closing_the_docs_embedding_calls_its_on_close(pages: PageFactory, shop: Shop) -> None:
    page = pages.new()
    page.goto(f"{shop.origin}/docs-shop")
    page.locator("#pay").click()
    expect(page.frame_locator(f"{MODAL} iframe").locator("#attempt")).to_have_text("Attempt 1 of 3")

    page.keyboard.press("Escape")

    expect(page.locator("#pay")).to_have_text("Try again")
