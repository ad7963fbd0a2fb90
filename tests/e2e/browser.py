"""Real Chromium for page tests: Debian's package driven by Playwright, never a browser Playwright downloads."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Route, sync_playwright

__all__ = ("Offline", "chromium", "chromium_path", "offline_page")

CHROMIUM_FLAGS = [
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Chromium's own traffic (updates, sync, safe browsing) would be refused by a closed network, many at a time.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> Path:
    """Debian's Chromium (``apt-get install chromium``), or ``PAYGUARD_TEST_CHROMIUM``.

    Raises:
        FileNotFoundError: Neither is there; ``.ci/run`` installs the package.
    """
    configured = os.environ.get("PAYGUARD_TEST_CHROMIUM")
    found = configured or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        msg = "No Chromium for the page tests: `apt-get install chromium` (Debian), or set PAYGUARD_TEST_CHROMIUM."
        raise FileNotFoundError(msg)
    return Path(found)


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the block."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path()), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Offline:
    """What a page asked for beyond the origins it may reach (each request was refused, as with no network)."""

    origins: tuple[str, ...]
    refused: list[str] = field(default_factory=list)

    def handle(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" in self.origins or parts.scheme in {"data", "blob"}:
            route.continue_()
        else:
            self.refused.append(url)
            route.abort("internetdisconnected")


@contextmanager
def offline_page(browser: Browser, *origins: str, **context_options: Any) -> Iterator[tuple[Page, Offline]]:
    """A page that can reach ``origins`` only: any other request is refused and recorded.

    ``context_options`` go to Playwright's ``new_context`` (``viewport``, ``has_touch``).
    """
    context = browser.new_context(**context_options)
    offline = Offline(origins=origins)
    context.route("**/*", offline.handle)
    try:
        yield context.new_page(), offline
    finally:
        context.close()
