"""The hosted checkout page: its HTML, with the server's part of its configuration, and its security headers.

The page is static HTML, CSS and JavaScript shipped in the package; the server adds only a JSON block of
configuration (never executed: the Content-Security-Policy allows scripts from payguard's origin, and the
gateway's checkout, only) and the headers. Everything about the session itself the page reads from the API with
the client secret it finds in the URL's fragment.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    from litestar_payguard.services.sessions import CheckoutPage

__all__ = ("STATIC_DIRECTORY", "checkout_headers", "render_checkout")

STATIC_DIRECTORY = Path(str(files("litestar_payguard"))) / "static"
"""The page's scripts and styles, and checkout.js, served under ``{path}/static``."""
_CONFIG_MARK = "<!--payguard-config-->"
_STATIC_MARK = "{static}"
"""Where the template's links point to payguard's static files (absolute: the page's URL may end in a slash)."""


@cache
def _template() -> str:
    return (files("litestar_payguard.pages") / "checkout.html").read_text(encoding="utf-8")


def render_checkout(page: CheckoutPage, *, session_id: str, api_path: str) -> str:
    """The page's HTML for ``session_id``, with its configuration as a JSON data block.

    ``api_path`` is payguard's prefix (``/payguard``): the page calls ``{api_path}/sessions/{id}/…``.
    """
    api = api_path.rstrip("/")
    config = {
        "sessionId": session_id,
        "api": api,
        "merchantName": page.merchant_name,
        "embedOrigin": page.embed_origin,
        "minorUnits": page.minor_units,
        "testMode": page.test_mode,
        "checkout": None
        if page.checkout is None
        else {"scriptUrl": page.checkout.script_url, "keyId": page.checkout.key_id},
    }
    # "<" escaped: a value can never close the <script> element it sits in.
    data = msgspec.json.encode(config).decode().replace("<", "\\u003c")
    block = f'<script type="application/json" id="payguard-config">{data}</script>'
    return _template().replace(_STATIC_MARK, f"{api}/static").replace(_CONFIG_MARK, block)


def checkout_headers(page: CheckoutPage) -> dict[str, str]:
    """The page's security headers: scripts, styles and calls from payguard (and the gateway's checkout) only.

    ``frame-ancestors`` lets only payguard's own origin (the host's pages) and the merchant's allowed origins embed
    the page.
    """
    gateway = " ".join(page.checkout.origins) if page.checkout is not None else ""
    styles = f"'unsafe-inline' {gateway}" if page.checkout is not None and page.checkout.inline_styles else gateway
    ancestors = " ".join(("'self'", *page.frame_ancestors))
    frames = gateway or "'none'"
    directives = [
        "default-src 'none'",
        f"script-src 'self' {gateway}".rstrip(),
        f"style-src 'self' {styles}".rstrip(),
        f"img-src 'self' data: {gateway}".rstrip(),
        f"connect-src 'self' {gateway}".rstrip(),
        f"frame-src {frames}",
        f"frame-ancestors {ancestors}",
        "base-uri 'none'",
        "form-action 'none'",
    ]
    if gateway:
        directives.insert(5, f"font-src {gateway}")
    return {
        "Content-Security-Policy": "; ".join(directives),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
