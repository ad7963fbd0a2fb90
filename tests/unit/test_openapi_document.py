"""The OpenAPI document payguard contributes to its host's: what each operation answers, who may call it, and the
constraints the server enforces (the schemathesis test in tests/integration proves the server keeps to it)."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar, post
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from litestar_payguard import PayGuardConfig, PayGuardPlugin
from litestar_payguard.currencies import minor_unit_digits
from litestar_payguard.openapi import KeyRequiredOperation, idempotency_problems, problem_responses
from litestar_payguard.problems import error_body, problem_body
from litestar_payguard.schemas.problems import ProblemDetails
from litestar_payguard.services.sessions import PriceChangedError

PROBLEM = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}
METHODS = ("get", "post", "put", "patch", "delete")


def _guard(*_: Any) -> None:
    return None


def document(openapi_config: OpenAPIConfig | None = None, **settings: Any) -> dict[str, Any]:
    config = PayGuardConfig(queue_url="redis://x", admin_guards=[_guard], **settings)
    database = SQLAlchemyAsyncConfig(connection_string="sqlite+aiosqlite:///:memory:")
    extra = {"openapi_config": openapi_config} if openapi_config is not None else {}
    app = Litestar(route_handlers=[host_route], plugins=[SQLAlchemyPlugin(database), PayGuardPlugin(config)], **extra)
    return app.openapi_schema.to_schema()


@post(
    "/host/orders", responses=problem_responses(*idempotency_problems("required")), operation_class=KeyRequiredOperation
)
async def host_route() -> None:
    """A host route that opts in to payguard's Idempotency-Key, and says so in the document."""


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


def test_every_error_is_documented_as_problem_details_and_nothing_else(doc: dict[str, Any]) -> None:
    operations = payguard_operations(doc)

    assert len(operations) == 46
    for method, path, operation in operations:
        errors = {status: response for status, response in operation["responses"].items() if int(status) >= 400}
        assert "503" in errors, (method, path)
        for status, response in errors.items():
            assert response["content"] == {PROBLEM: {"schema": PROBLEM_REF}}, (method, path, status)
        expected = {"503"}
        if "{" in path:
            expected.add("404")
        if "/gateways/" not in path:
            expected.add("401")  # every route but the gateway's webhooks wants credentials
        if "/admin/" in path:
            expected.add("403")
        if method == "POST":
            expected |= {"413", "415"}
        if operation.get("requestBody") or any(p["in"] == "query" for p in operation.get("parameters", [])):
            expected |= {"400", "422"}
        assert expected <= errors.keys(), (method, path, sorted(errors))


def test_error_responses_name_their_codes_and_headers(doc: dict[str, Any]) -> None:
    create = doc["paths"]["/payguard/sessions"]["post"]["responses"]
    refund = doc["paths"]["/payguard/v1/payments/{payment_id}/refunds"]["post"]["responses"]

    assert create["409"]["description"] == (
        "Conflict: `PRICE_CHANGED`, `PENDING_SAME_BUNDLE`, `GATEWAY_NOT_CONFIGURED`, `IDEMPOTENCY_KEY_IN_USE`"
    )
    assert "`PRICING_NOT_CONFIGURED`" in create["403"]["description"]
    assert "`REFUND_EXCEEDS_AVAILABLE`" in refund["422"]["description"]
    assert create["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert create["503"]["headers"]["Retry-After"]["required"] is True
    assert create["201"]["headers"]["Idempotent-Replayed"]["schema"] == {"type": "string", "enum": ["true"]}


def test_the_problem_schema_describes_what_the_server_sends() -> None:
    doc = document()
    schema = component(doc, "ProblemDetails")
    error = PriceChangedError("The price changed.", extra={"price": {"amount": 100}})

    assert schema["required"] == ["code", "detail", "status", "title", "type"]
    assert "additionalProperties" not in schema  # extension members (price, maximum…) are allowed
    for body in (
        error_body(error, prefix="/payguard", instance="/payguard/sessions"),
        problem_body(status=404, code="NOT_FOUND", title="Not found", detail="No such thing."),
        problem_body(
            status=422,
            code="VALIDATION_FAILED",
            title="Validation failed",
            detail="Bad.",
            errors=[{"field": None, "source": "body", "message": "Expected `object`"}],
        ),
    ):
        msgspec.convert(body, ProblemDetails)  # raises if the document's shape were not the server's


def test_every_success_response_has_a_schema(doc: dict[str, Any]) -> None:
    for method, path, operation in payguard_operations(doc):
        successes = {status: r for status, r in operation["responses"].items() if status.startswith("2")}
        assert successes, (method, path)
        for status, response in successes.items():
            if status == "204":  # no content (DELETE)
                assert "content" not in response, (method, path)
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema, (method, path)  # not {}: that would accept anything
    session = doc["paths"]["/payguard/sessions/{session_id}"]["get"]["responses"]["200"]
    assert session["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Session"}
    assert {"id", "status", "payment", "attemptDeadline"} <= set(component(doc, "Session")["required"])


def test_security_schemes_are_declared_and_each_operation_names_its_own(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    paths = doc["paths"]

    assert schemes["payguardApiKey"] == {"type": "apiKey", "name": "X-Api-Key", "in": "header"} | {
        "description": schemes["payguardApiKey"]["description"]
    }
    assert schemes["payguardApiSecret"]["name"] == "X-Api-Secret"
    assert (schemes["hostAuth"]["type"], schemes["hostAuth"]["scheme"]) == ("http", "bearer")
    assert "host application's authentication" in schemes["hostAuth"]["description"]
    assert paths["/payguard/v1/payments"]["post"]["security"] == [{"payguardApiKey": [], "payguardApiSecret": []}]
    # Without a default merchant, a customer's request names its merchant with the API keys too.
    assert paths["/payguard/sessions"]["post"]["security"] == [
        {"hostAuth": [], "payguardApiKey": [], "payguardApiSecret": []}
    ]
    assert paths["/payguard/admin/cleanup/stats"]["get"]["security"] == [{"hostAuth": []}]
    assert paths["/payguard/gateways/{gateway_name}/webhooks"]["post"]["security"] == [{}]  # signed, not logged in


def test_a_host_names_its_own_schemes_and_keeps_its_title() -> None:
    cookie = SecurityScheme(type="apiKey", name="session", security_scheme_in="cookie", description="Our cookie.")
    host = OpenAPIConfig(
        title="Acme shop", version="2.0.0", components=Components(security_schemes={"shopCookie": cookie})
    )

    doc = document(
        host, openapi_customer_scheme="shopCookie", openapi_admin_scheme="staffToken", default_merchant_key="shop"
    )

    assert (doc["info"]["title"], doc["info"]["version"]) == ("Acme shop", "2.0.0")
    assert doc["components"]["securitySchemes"]["shopCookie"]["description"] == "Our cookie."  # the host's wins
    assert doc["components"]["securitySchemes"]["staffToken"]["scheme"] == "bearer"
    assert doc["paths"]["/payguard/sessions"]["post"]["security"] == [
        {"shopCookie": []},
        {"shopCookie": [], "payguardApiKey": [], "payguardApiSecret": []},
    ]
    assert doc["paths"]["/payguard/admin/cleanup/stats"]["get"]["security"] == [{"staffToken": []}]
    assert host.components.security_schemes == {"shopCookie": cookie}  # the host's own config is left alone


def test_the_idempotency_key_is_declared_where_it_is_taken_and_required_where_required(doc: dict[str, Any]) -> None:
    for method, path, operation in payguard_operations(doc):
        keys = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
        if method == "GET" or "/gateways/" in path:
            assert keys == [], (method, path)
            continue
        assert len(keys) == 1, (method, path)
        required = path in {
            "/payguard/v1/payments",
            "/payguard/v1/payments/{payment_id}/refunds",
            "/payguard/v1/checkout-sessions",
        }
        assert (keys[0]["in"], keys[0]["required"]) == ("header", required), (method, path)
        assert keys[0]["schema"]["maxLength"] == 255
    host = doc["paths"]["/host/orders"]["post"]
    assert [(p["name"], p["required"]) for p in host["parameters"]] == [("Idempotency-Key", True)]
    assert {"400", "409", "413", "422", "503"} <= host["responses"].keys()


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
        "CheckoutSessionCreate",
        "MerchantAccountUpdate",
        "PaymentCreate",
        "Recovery",
        "RefundCreate",
        "SessionComplete",
        "SessionInterrupt",
        "SessionRequest",
        "SecretRotation",
        "WebhookEndpointCreate",
        "WebhookEndpointUpdate",
    }
    for name in names:
        assert component(doc, name)["additionalProperties"] is False, name
    resolve = doc["paths"]["/payguard/admin/payments/{payment_id}/resolve"]["post"]["requestBody"]
    assert resolve["required"] is False  # its body may be left out


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


def test_query_parameters_carry_their_limits_and_formats(doc: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in doc["paths"]["/payguard/v1/payments"]["get"]["parameters"]}
    active = {p["name"]: p for p in doc["paths"]["/payguard/admin/sessions/active"]["get"]["parameters"]}

    assert (parameters["limit"]["schema"]["minimum"], parameters["limit"]["schema"]["maximum"]) == (1, 100)
    # An absent parameter is not a null one: a query string has no null.
    assert parameters["createdFrom"]["schema"] == {"type": "string", "format": "date-time"}
    assert parameters["customerId"]["schema"] == {"type": "string", "maxLength": 255, "pattern": "^[^\\x00]*$"}
    assert parameters["cursor"]["schema"]["maxLength"] == 200
    assert active["pageSize"]["schema"]["maximum"] == 100
