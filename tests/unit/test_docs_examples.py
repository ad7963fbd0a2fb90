"""The example host app of the docs runs as written (SQLite file, no queue traffic)."""

from __future__ import annotations

from pathlib import Path

import pytest

from docs.examples.host_app import create_app
from tests.support import Client, dispose_engine, running


async def test_the_documented_host_app_opens_sessions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'shop.db'}")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")  # only jobs would use it
    app = create_app()
    try:
        async with running(app), Client(app) as client:
            bought = await client.post("/buy/pro", headers={"X-User": "u1"})
            priced = await client.post("/payguard/sessions", json={"bundleId": "pro"}, headers={"X-User": "u2"})
            unsold = await client.post("/payguard/sessions", json={"bundleId": "gold"}, headers={"X-User": "u2"})
            polled = await client.get(f"/payguard/sessions/{bought.json()['id']}", headers={"X-User": "u1"})
            admin = await client.get("/payguard/admin/sessions/active", headers={"X-Staff": "yes"})
            not_staff = await client.get("/payguard/admin/sessions/active")
    finally:
        await dispose_engine(app)

    assert bought.status_code == 201, bought.text
    assert polled.json()["payment"] == {**polled.json()["payment"], "amount": 1900, "currency": "EUR"}
    assert (priced.status_code, priced.json()["payment"]["amount"], priced.json()["planName"]) == (201, 1900, "Pro")
    assert (unsold.status_code, unsold.json()["code"]) == (404, "BUNDLE_NOT_FOUND")
    assert admin.json()["total"] == 2
    assert not_staff.status_code == 403
