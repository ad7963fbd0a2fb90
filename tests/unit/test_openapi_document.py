"""The OpenAPI document payguard contributes to its host's: the constraints the server enforces."""

from __future__ import annotations

from typing import Any

import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar
from litestar.openapi import OpenAPIConfig

from litestar_payguard import PayGuardConfig, PayGuardPlugin
from litestar_payguard.currencies import minor_unit_digits

METHODS = ("get", "post", "put", "patch", "delete")


def _guard(*_: Any) -> None:
    return None


def document(openapi_config: OpenAPIConfig | None = None, **settings: Any) -> dict[str, Any]:
    config = PayGuardConfig(queue_url="redis://x", admin_guards=[_guard], **settings)
    database = SQLAlchemyAsyncConfig(connection_string="sqlite+aiosqlite:///:memory:")
    extra = {"openapi_config": openapi_config} if openapi_config is not None else {}
    app = Litestar(plugins=[SQLAlchemyPlugin(database), PayGuardPlugin(config)], **extra)
    return app.openapi_schema.to_schema()


def payguard_operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in doc["paths"].items()
        if path.startswith("/payguard")
        for method, operation in item.items()
        if method in METHODS
    ]


def component(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return dict(doc["components"]["schemas"][name])


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return document()


def test_every_success_response_has_a_schema(doc: dict[str, Any]) -> None:
    for method, path, operation in payguard_operations(doc):
        successes = {status: r for status, r in operation["responses"].items() if status.startswith("2")}
        assert successes, (method, path)
        for response in successes.values():
            schema = response["content"]["application/json"]["schema"]
            assert schema, (method, path)  # not {}: that would accept anything
    session = doc["paths"]["/payguard/sessions/{session_id}"]["get"]["responses"]["200"]
    assert session["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Session"}
    assert {"id", "status", "payment", "attemptDeadline"} <= set(component(doc, "Session")["required"])


def test_request_bodies_refuse_unknown_members(doc: dict[str, Any]) -> None:
    bodies = [
        operation["requestBody"]["content"]["application/json"]["schema"]
        for _, _, operation in payguard_operations(doc)
        if "requestBody" in operation
    ]
    names = {
        ref.rsplit("/", 1)[-1]
        for body in bodies
        for ref in [body.get("$ref")] + [option.get("$ref") for option in body.get("oneOf", [])]
        if ref
    }

    assert names == {
        "AttentionResolution",
        "CanProceedRequest",
        "PaymentCreate",
        "RefundCreate",
        "SessionComplete",
        "SessionInterrupt",
        "SessionRequest",
    }
    for name in names:
        assert component(doc, name)["additionalProperties"] is False, name


def test_the_constraints_the_server_enforces_are_in_the_schemas(doc: dict[str, Any]) -> None:
    request = component(doc, "SessionRequest")["properties"]
    payment = component(doc, "PaymentCreate")

    assert request["metadata"]["maxProperties"] == 20
    assert request["metadata"]["propertyNames"] == {"minLength": 1, "maxLength": 40, "pattern": "^[^\\x00]*$"}
    assert request["metadata"]["additionalProperties"]["maxLength"] == 500
    # An optional member keeps its constraints, and money is capped where the services cap it.
    assert request["amount"]["oneOf"][0] == {"type": "integer", "exclusiveMinimum": 0, "maximum": 100_000_000}
    assert payment["properties"]["amount"]["maximum"] == 100_000_000
    assert request["bundleId"]["maxLength"] == 128
    assert payment["properties"]["method"]["enum"] == ["card", "netbanking", "upi", "wallet"]
    assert payment["if"] == {"properties": {"method": {"const": "upi"}}}  # a UPI payment needs its vpa
    assert payment["then"]["required"] == ["vpa"]
    assert (
        document(max_amount=5000)["components"]["schemas"]["RefundCreate"]["properties"]["amount"]["oneOf"][0][
            "maximum"
        ]
        == 5000
    )


def test_a_currency_is_one_the_server_accepts_in_any_case(doc: dict[str, Any]) -> None:
    import re  # noqa: PLC0415

    pattern = re.compile(component(doc, "PaymentCreate")["properties"]["currency"]["pattern"])

    for code in ("USD", "usd", "uSd", "INR", "JPY"):
        assert pattern.fullmatch(code), code
    for code in ("ZZZ", "XAU", "US", "USDX", "XTS"):
        assert not pattern.fullmatch(code), code
        assert minor_unit_digits(code) is None or len(code) != 3
