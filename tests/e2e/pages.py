"""What the page tests drive: the demo (payguard's pages), a shop on a second origin, Chromium pages on both.

One demo serves every page test (``pages_demo`` in the conftest); each test signs in a customer of its own.
A failed test's pages are screenshotted: the PNG is kept under the test's ``tmp_path`` and printed, base64, in
the test's output, which CI's log keeps.
"""

from __future__ import annotations

import base64
import itertools
import json
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from tests.e2e.browser import Offline, offline_page

ROOT = Path(__file__).resolve().parents[2]

__all__ = ("PageDemo", "PageFactory", "Shop", "docs_embed", "shop_server")

DEMO_API_KEY = {"X-Api-Key": "key_test_demo", "X-Api-Secret": "secret_test_demo"}
"""The demo merchant's published test credentials."""
_customers = itertools.count(1)


@dataclass
class PageDemo:
    """The running demo: open sessions for fresh customers, read them back over its API."""

    origin: str
    log: Path
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.origin, timeout=30)

    def customer(self) -> dict[str, str]:
        """A new customer's bearer header (each test pays as somebody else: no pending payment in the way)."""
        response = self.http.post("/auth/login", json={"username": f"page-customer-{next(_customers)}"})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['accessToken']}"}

    def open_session(self, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        """``POST /payguard/sessions`` for the cheapest product; its answer holds ``checkoutUrl``."""
        response = self.http.post("/payguard/sessions", json={"bundleId": "starter-monthly", **body}, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def new_session(self, **body: Any) -> tuple[dict[str, str], dict[str, Any]]:
        """A new customer's header, and a session opened for them."""
        customer = self.customer()
        return customer, self.open_session(customer, **body)

    def session(self, session_id: str, headers: dict[str, str]) -> dict[str, Any]:
        response = self.http.get(f"/payguard/sessions/{session_id}", headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def summary(self, session_id: str, headers: dict[str, str]) -> dict[str, Any]:
        response = self.http.get(f"/payguard/sessions/{session_id}/summary", headers=headers)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def allow_origins(self, *origins: str) -> None:
        body = {"allowedOrigins": list(origins)}
        response = self.http.patch("/payguard/v1/merchant", json=body, headers=DEMO_API_KEY)
        assert response.status_code == 200, response.text


@dataclass
class Shop:
    """A merchant's site on a second origin: embeds checkout.js, and is where the checkout page sends customers."""

    origin: str
    """``http://localhost:<port>``: another origin than the demo's ``127.0.0.1``."""
    other_origin: str
    """The same server as ``http://127.0.0.1:<port>``: an origin the merchant never allowed."""


def docs_embed() -> str:
    """The 10 lines of HTML ``docs/checkout.md`` shows for embedding checkout.js, as written there."""
    text = (ROOT / "docs" / "checkout.md").read_text()
    return text.split("<!-- embed -->\n```html\n", 1)[1].split("```", 1)[0]


def _docs_page(payguard_origin: str) -> bytes:
    body = docs_embed().replace("https://pay.example/payguard", f"{payguard_origin}/payguard")
    head = '<!doctype html><html><head><meta charset="utf-8"><title>Docs shop</title></head>'
    return f"{head}<body>{body}</body></html>".encode()


def _shop_page(payguard_origin: str) -> bytes:
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title>
<script src="{payguard_origin}/payguard/static/checkout.js"></script></head>
<body><h1>The shop</h1><button id="buy" type="button">Buy</button>
<script>
window.results = [];
document.getElementById("buy").addEventListener("click", function () {{
  PayGuardCheckout.open({{
    checkoutUrl: window.checkoutUrl,
    onSuccess: function (r) {{ window.results.push(["success", r]); }},
    onFailure: function (r) {{ window.results.push(["failure", r]); }},
    onClose: function () {{ window.results.push(["close"]); }}
  }});
}});
</script></body></html>""".encode()


_FORGER = b"""<!doctype html><html><body><script>
const forged = {source: "payguard", type: "payment.succeeded", sessionId: "forged", paymentId: "forged"};
window.parent.postMessage(forged, "*");
</script></body></html>"""
"""A page of an origin the merchant never allowed that claims, to its parent, that a payment succeeded."""


@contextmanager
def shop_server(payguard_origin: str) -> Iterator[Shop]:
    """Serve the shop: ``/shop`` (checkout.js), ``/forger`` (a forged report) and ``/orders/…`` (a return page).

    ``/docs-shop`` is the embedding ``docs/checkout.md`` shows, and ``POST /checkout`` the merchant's server route
    it calls: it opens a session for a new customer with the demo's merchant API.
    """
    shop_page = _shop_page(payguard_origin)
    docs_page = _docs_page(payguard_origin)
    customers = itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/shop"):
                body = shop_page
            elif self.path.startswith("/docs-shop"):
                body = docs_page
            elif self.path.startswith("/forger"):
                body = _FORGER
            else:
                body = f"<!doctype html><title>Shop</title><h1>Back at the shop: {self.path}</h1>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            opened = httpx.post(
                f"{payguard_origin}/payguard/v1/checkout-sessions",
                json={"customerId": f"docs-shop-{next(customers)}", "bundleId": "starter-monthly"},
                headers={**DEMO_API_KEY, "Idempotency-Key": uuid.uuid4().hex},
                timeout=30,
            )
            body = json.dumps({"checkoutUrl": opened.json().get("checkoutUrl")}).encode()
            self.send_response(200 if opened.status_code == 201 else 502)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # the base class's name
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Shop(origin=f"http://localhost:{port}", other_origin=f"http://127.0.0.1:{port}")
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class PageFactory:
    """Opens Chromium pages that reach only the demo and the shop, and records every URL they request."""

    browser: Browser
    origins: tuple[str, ...]
    requested: list[str] = field(default_factory=list)
    _pages: list[tuple[Page, Offline]] = field(default_factory=list)
    _stack: list[Any] = field(default_factory=list)

    def new(self, **context_options: Any) -> Page:
        manager = offline_page(self.browser, *self.origins, **context_options)
        page, offline = manager.__enter__()
        self._stack.append(manager)
        self._pages.append((page, offline))
        page.context.on("request", self._record)
        return page

    def checkout(self, url: str, **context_options: Any) -> Page:
        """A new page on a checkout page, once it shows the session."""
        page = self.new(**context_options)
        page.goto(url)
        expect(page.locator("#attempt")).to_be_visible()
        return page

    def _record(self, request: Request) -> None:
        self.requested.append(request.url)

    @property
    def refused(self) -> list[str]:
        return [url for _, offline in self._pages for url in offline.refused]

    def close(self, node: pytest.Item, directory: Path) -> None:
        """Close every page; screenshot each first when the test failed."""
        report = getattr(node, "report_call", None)
        if report is not None and report.failed:
            for number, (page, _) in enumerate(self._pages):
                if page.is_closed():
                    continue
                path = directory / f"failure-{number}.png"
                png = page.screenshot(path=str(path), full_page=True)
                encoded = base64.b64encode(png).decode()
                # Past pytest's capture: the log keeps it even though the failure's report is already written.
                sys.__stderr__.write(f"\nscreenshot of {page.url} at {path}:\ndata:image/png;base64,{encoded}\n")
        while self._stack:
            self._stack.pop().__exit__(None, None, None)
