"""The demo's own JSON routes take payguard's strict input: bad UTF-8 is a 400 problem, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest

from demo_app import create_app as create_demo
from demo_app.settings import DemoSettings
from litestar_payguard.testing.servers import Server
from tests.support import serve


@pytest.mark.parametrize(
    ("path", "body", "needs_login"),
    [
        ("/auth/login", b'{"username":"al\xffice"}', False),
        ("/shop/checkout", b'{"productId":"pro-\xff"}', True),
        ("/shop/cart/items", b'{"productId":"\xff"}', True),
    ],
)
async def test_the_demo_answers_invalid_utf8_with_a_400_not_a_500(
    tmp_path: Path, redis_server: Server, path: str, body: bytes, needs_login: bool
) -> None:
    settings = DemoSettings(
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
        redis_url=redis_server.url,
        simulated_delay_seconds=0.0,
        token_secret="demo-input",
    )
    async with serve(create_demo(settings)) as client:
        headers = {"content-type": "application/json"}
        if needs_login:
            token = (await client.post("/auth/login", json={"username": "alice"})).json()["accessToken"]
            headers["Authorization"] = f"Bearer {token}"
        response = await client.post(path, content=body, headers=headers)

    assert response.status_code == 400, response.text
