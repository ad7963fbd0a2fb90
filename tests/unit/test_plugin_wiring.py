"""The plugin's wiring: what it registers, and the configurations it refuses."""

from __future__ import annotations

from typing import Any

import click
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, post

from litestar_payguard import ImproperConfigurationError, PayGuardConfig, PayGuardPlugin


def _guard(*_: Any) -> None:
    return None


def _db() -> SQLAlchemyAsyncConfig:
    return SQLAlchemyAsyncConfig(connection_string="sqlite+aiosqlite:///:memory:")


def test_admin_without_guards_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ImproperConfigurationError, match="admin_guards"):
        Litestar(plugins=[SQLAlchemyPlugin(_db()), PayGuardPlugin(PayGuardConfig(queue_url="redis://x"))])


def test_without_the_hosts_sqlalchemy_plugin_it_says_what_to_add() -> None:
    config = PayGuardConfig(queue_url="redis://x", admin_guards=[_guard])
    with pytest.raises(ImproperConfigurationError, match="SQLAlchemyPlugin"):
        Litestar(plugins=[PayGuardPlugin(config)])


def test_several_async_configs_need_an_explicit_choice() -> None:
    config = PayGuardConfig(queue_url="redis://x", admin_guards=[_guard])
    first = _db()
    second = SQLAlchemyAsyncConfig(
        connection_string="sqlite+aiosqlite:///:memory:",
        bind_key="other",
        session_dependency_key="other_session",
        engine_dependency_key="other_engine",
    )
    with pytest.raises(ImproperConfigurationError, match="sqlalchemy_config"):
        Litestar(plugins=[SQLAlchemyPlugin([first, second]), PayGuardPlugin(config)])
    chosen = PayGuardPlugin(PayGuardConfig(queue_url="redis://x", admin_guards=[_guard], sqlalchemy_config=second))
    Litestar(plugins=[SQLAlchemyPlugin([first, second]), chosen])
    assert chosen.payguard.sqlalchemy_config is second


def test_routes_live_under_the_configured_prefix_and_reuse_the_hosts_config() -> None:
    db = _db()
    plugin = PayGuardPlugin(PayGuardConfig(queue_url="redis://x", admin_guards=[_guard], path="/pay"))
    app = Litestar(plugins=[plugin, SQLAlchemyPlugin(db)])  # payguard listed first: discovery must not depend on order

    paths = {route.path for route in app.routes}
    assert {
        "/pay/sessions",
        "/pay/sessions/{session_id:str}",
        "/pay/sessions/{session_id:str}/interrupt",
        "/pay/sessions/{session_id:str}/resume",
        "/pay/sessions/{session_id:str}/complete",
        "/pay/sessions/{session_id:str}/cancel",
        "/pay/sessions/{session_id:str}/summary",
        "/pay/admin/sessions/active",
    } <= paths
    assert not any(path.startswith("/payguard") for path in paths)
    assert plugin.payguard.sqlalchemy_config is db
    assert plugin.payguard.queue.name == "payguard"
    operation_ids = {
        operation.operation_id
        for path_item in (app.openapi_schema.paths or {}).values()
        for operation in (path_item.get, path_item.post)
        if operation is not None
    }
    assert {"payguardCreateSession", "payguardGetSession", "payguardListActiveSessions"} <= operation_ids


def test_admin_routes_can_be_left_out() -> None:
    plugin = PayGuardPlugin(PayGuardConfig(queue_url="redis://x", admin_enabled=False))
    app = Litestar(plugins=[SQLAlchemyPlugin(_db()), plugin])
    assert not any("/admin" in route.path for route in app.routes)


def test_the_cli_group_is_registered() -> None:
    cli = click.Group()
    PayGuardPlugin(PayGuardConfig(queue_url="redis://x", admin_enabled=False)).on_cli_init(cli)
    assert "worker" in cli.commands["payguard"].commands  # type: ignore[attr-defined]


def test_accessing_the_core_before_init_is_an_error() -> None:
    with pytest.raises(ImproperConfigurationError):
        _ = PayGuardPlugin(PayGuardConfig(queue_url="redis://x")).payguard


async def test_a_misspelt_idempotency_opt_stops_the_app_at_start_up() -> None:
    @post("/host/typo", opt={"payguard_idempotency": "yes"})
    async def typo() -> None:
        return None

    config = PayGuardConfig(queue_url="redis://127.0.0.1:9", admin_enabled=False)
    app = Litestar(route_handlers=[typo], plugins=[SQLAlchemyPlugin(_db()), PayGuardPlugin(config)])
    with pytest.raises(BaseException) as raised:  # the lifespan's task group wraps it in an ExceptionGroup
        async with app.lifespan():
            pass
    errors = raised.value.exceptions if isinstance(raised.value, BaseExceptionGroup) else (raised.value,)
    assert any(isinstance(e, ImproperConfigurationError) and "payguard_idempotency" in str(e) for e in errors)
