"""The demo's API documentation page renders in Chromium with no network beyond the demo itself."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser

from tests.e2e.browser import offline_page
from tests.e2e.conftest import DEMO, free_port, process


def test_the_swagger_page_works_offline(tmp_path: Path, browser: Browser) -> None:
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {"PAYGUARD_DEMO_DATA": str(tmp_path / "data"), "DATABASE_URL": "", "REDIS_URL": ""}
    with (
        process(
            [*DEMO, "--port", str(port)],
            env=env,
            log=tmp_path / "demo.log",
            ready_url=f"{origin}/",
        ),
        offline_page(browser, origin) as (page, offline),
    ):
        page.goto(f"{origin}/schema/swagger")
        page.wait_for_selector(".opblock-summary", timeout=30_000)
        operations = page.locator(".opblock-summary-path").all_inner_texts()
        title = page.locator(".info .title").inner_text()

    assert offline.refused == []
    assert "payguard demo shop" in title
    assert "/payguard/sessions" in operations
    assert len(operations) > 20
