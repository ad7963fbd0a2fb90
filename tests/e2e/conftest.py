"""End-to-end fixtures: real processes (the demo, CLI workers) talking over real sockets."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.e2e.browser import chromium
from tests.e2e.pages import PageDemo, PageFactory, Shop, shop_server

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO = [sys.executable, "-m", "demo_app"]
"""The demo's command; ``process`` runs it from the repository root, as ``./scripts/demo`` does."""


def uv_binary() -> str:
    """The uv that ``./scripts/test`` exports as ``$UV``, else one on PATH."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        pytest.fail("no uv: run the suite with ./scripts/test (it exports $UV) or put uv on PATH")
    return uv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(proc: subprocess.Popen[bytes], url: str, *, log: Path, timeout: float = 60, below: int = 500) -> None:
    """Wait until ``url`` answers with a status under ``below``; fail with the log if the process exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code < below:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{proc.args!r} did not answer {url}:\n{log.read_text()}")
        time.sleep(0.2)


@contextmanager
def process(
    command: list[str],
    *,
    env: Mapping[str, str],
    log: Path,
    ready_url: str | None = None,
    timeout: float = 60,
    cwd: Path = ROOT,
    inherit_env: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a command until the block ends; wait for ``ready_url`` to answer first. Stopped with SIGINT.

    ``env`` is added to this process's environment, or is the whole environment without ``inherit_env``.
    """
    environment = {**os.environ, **env} if inherit_env else dict(env)
    with log.open("wb") as output:
        proc = subprocess.Popen(command, cwd=cwd, env=environment, stdout=output, stderr=subprocess.STDOUT)
    try:
        if ready_url is not None:
            wait_for(proc, ready_url, log=log, timeout=timeout)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """Keep each phase's report on the test item: page fixtures take screenshots of a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


PAGE_POLICY = {
    "PAYGUARD_ATTEMPT_TIMEOUT_SECONDS": "8",
    "PAYGUARD_RETRY_DELAY_SECONDS": "2",
    "PAYGUARD_POLL_INTERVAL_MS": "500",
    "PAYGUARD_SIMULATED_DELAY_SECONDS": "0",
    "PAYGUARD_WEBHOOK_TEST_RETRY_SCHEDULE_SECONDS": "",
}
"""The page tests' demo: attempts short enough to watch one time out, polled often; a webhook delivery is tried
once (no retry schedule), so a failed one is failed at once and what the dashboard's Retry does is seen alone."""


@contextmanager
def page_demo(directory: Path, env: Mapping[str, str]) -> Iterator[PageDemo]:
    """The demo (embedded SQLite and Redis, the in-app worker) with ``PAGE_POLICY`` and ``env``, for the block."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    environment = {"PAYGUARD_DEMO_DATA": str(directory / "data"), "DATABASE_URL": "", "REDIS_URL": "", **PAGE_POLICY}
    log = directory / "demo.log"
    with process([*DEMO, "--port", str(port)], env={**environment, **env}, log=log, ready_url=f"{origin}/"):
        demo = PageDemo(origin=origin, log=log)
        try:
            yield demo
        finally:
            demo.http.close()


@pytest.fixture(scope="package")
def pages_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PageDemo]:
    """One demo for every page test on the simulated gateway, stopped with the end-to-end tests."""
    with page_demo(tmp_path_factory.mktemp("pages-demo"), {}) as demo:
        yield demo


@pytest.fixture(scope="package")
def shop(pages_demo: PageDemo) -> Iterator[Shop]:
    """The merchant's site on a second origin, which the demo merchant allows."""
    with shop_server(pages_demo.origin) as server:
        pages_demo.allow_origins(server.origin)
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for a module's tests (Playwright's sync API must not outlive them: asyncio tests follow)."""
    with chromium() as running:
        yield running


@pytest.fixture
def pages(
    browser: Browser, pages_demo: PageDemo, shop: Shop, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[PageFactory]:
    """Chromium pages for one test, reaching the demo and the shop only; screenshotted when the test fails."""
    factory = PageFactory(browser=browser, origins=(pages_demo.origin, shop.origin, shop.other_origin))
    try:
        yield factory
    finally:
        factory.close(request.node, tmp_path)
