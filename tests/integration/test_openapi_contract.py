"""The OpenAPI document is the contract: schemathesis calls every operation as a customer, a merchant and an admin.

Every answer must be documented (status, content type, schema, headers) and never a server error; schemathesis'
other standard checks (valid data accepted, invalid data refused, authentication enforced) run too. Each operation
gets generated requests, requests naming resources that exist (made afresh for it, so its success answers are checked
too), and requests that break the document (negative data).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from sqlalchemy.ext.asyncio import AsyncSession

from litestar_payguard.models import Payment
from litestar_payguard.services.merchants import MerchantService
from tests.hostapp import DEFAULT_MERCHANT_KEY
from tests.integration.conftest import ADMIN, ALICE, Client, ClientFactory, create_session, payguard_of
from tests.integration.test_payments_api import ACME, keyed, payment_body
from tests.support import listening, work_off

METHODS = ("get", "put", "post", "delete", "patch")
SHOP = {"X-Api-Key": DEFAULT_MERCHANT_KEY, "X-Api-Secret": "secret_shop"}
"""The default merchant's own keys: what customers and admins (without keys) act for."""
IDENTITIES = {"customer": ALICE, "merchant": ACME, "admin": ADMIN}
EXAMPLES = {"generated": 8, "existing": 6, "negative": 6}
"""Requests per operation, by kind, for the identity whose operation it is: enough for every operation to answer
each way it can."""
OWN_SCHEMES = {"customer": "customerHeader", "merchant": "payguardApiKey", "admin": "adminRole"}
"""The security scheme that makes an operation an identity's own. Another identity calls it once (a valid request
that it may not make: the refusal must be a documented answer), so the suite's 15 minutes have room for Chromium."""
SETTINGS = settings(
    derandomize=True,  # the same requests on every run
    database=None,
    deadline=None,  # a request to the real app takes what it takes; speed is not what is tested here
    # Drawing strings for the document's patterns can take a while; it is the data, not the test, that is slow.
    # Negative data for an operation whose only input is a free-form path segment is mostly filtered out (what
    # would make it invalid cannot be sent); Hypothesis then says the data is unsatisfiable instead.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
"""What ``positive_data_acceptance`` takes for an answer to valid data (its default)."""
RULES: list[dict[str, Any]] = [
    # A webhook is valid only when the gateway signed it with its secret: no generated one is, and each is refused
    # (400 INVALID_SIGNATURE), so valid-looking data cannot be expected to be accepted.
    {
        "include-operation-id": "payguardReceiveGatewayWebhook",
        "checks": {"positive_data_acceptance": {"enabled": False}},
    },
    # Rules about the resource's state, not the request's shape, answer valid data with 422: a refund above what
    # the payment has left (REFUND_EXCEEDS_AVAILABLE), a resolution whose status does not fit the payment's
    # (RESOLUTION_STATUS_MISMATCH).
    {
        "include-operation-id": ["payguardCreateRefund", "payguardResolveAttention"],
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
    },
    # An endpoint's URL must be one payguard sends to (https, a host: WEBHOOK_URL_INVALID) and its event types ones
    # payguard sends (WEBHOOK_EVENT_TYPE_UNKNOWN): rules on the values, beyond the document's patterns.
    {
        "include-operation-id": ["payguardCreateWebhookEndpoint", "payguardUpdateWebhookEndpoint"],
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
    },
    # A session's return URLs must be on the merchant's allowed origins (RETURN_URL_NOT_ALLOWED), and an allowed
    # origin must have a host (ALLOWED_ORIGIN_INVALID): rules on the values, beyond the document's patterns.
    {
        "include-operation-id": ["payguardCreateSession", "payguardCreateCheckoutSession", "payguardUpdateMerchant"],
        "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "422"]}},
    },
    # The test host's route whose remote service is always down: it answers 502, as documented.
    {
        "include-path": "/host/failing-checkout/{plan}",
        "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "502"]}},
    },
]
"""Standard checks whose expectations cannot hold for an operation, and why."""
BY_IDENTITY: dict[str, list[dict[str, Any]]] = {
    # The test host signs a customer in by assertion (`X-Customer: <any id>`): none of its values is an invalid
    # credential, which is what `ignored_auth` tries. The merchant's API keys and the admin guard get that check.
    "customer": [{"include-path-regex": ".", "checks": {"ignored_auth": {"enabled": False}}}],
    "merchant": [],
    "admin": [],
}
ISSUED = ("cursor",)
"""Query parameters whose only valid values are ones the API gave out (a page's ``nextCursor``): a generated one is
refused (422 INVALID_CURSOR), so valid requests carry one the API gave out, or none."""


def _config(identity: str) -> schemathesis.Config:
    # The identity's own headers authenticate, instead of credentials drawn from the security schemes.
    generation = {"with-security-parameters": False}
    return schemathesis.Config.from_dict({"generation": generation, "operations": [*RULES, *BY_IDENTITY[identity]]})


async def _flaky_fulfilment(payment: Payment, _db: AsyncSession) -> None:
    """The host's order service, down for some bundles: their payments get flagged for an admin."""
    if payment.bundle_id.startswith("flagged-"):
        msg = "order service unavailable"
        raise RuntimeError(msg)


async def _payments(client: Client, keys: dict[str, str], bundle: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        body = payment_body(bundleId=f"{bundle}-{uuid.uuid4().hex[:8]}", method="card", vpa=None)
        response = await client.post("/payguard/v1/payments", json=body, headers=keyed(keys))
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def _existing(client: Client, identity: str) -> dict[str, list[str]]:
    """Fresh resources the identity may act on, by the path parameter that names them."""
    existing: dict[str, list[str]] = {"gateway_name": ["simulated", "razorpay"]}
    if identity == "customer":
        sessions = [await create_session(client, headers=ALICE) for _ in range(3)]
        interrupted = f"/payguard/sessions/{sessions[0]['id']}/interrupt"
        assert (await client.post(interrupted, json={"kind": "network"}, headers=ALICE)).status_code == 200
        payguard_of(client.app).config.clock.advance(payguard_of(client.app).config.retry_delay_seconds)
        existing["session_id"] = [session["id"] for session in sessions]
        existing["payment_id"] = [session["payment"]["id"] for session in sessions]
    elif identity == "merchant":
        existing["payment_id"] = await _payments(client, ACME, "bundle", 2)
        await work_off(client.app)  # succeeded: they can be refunded
        page = await client.get("/payguard/v1/payments?limit=1", headers=ACME)
        existing["cursor"] = [page.json()["nextCursor"]]
        refund = await client.post(
            f"/payguard/v1/payments/{existing['payment_id'][0]}/refunds",
            json={"amount": 100},
            headers=keyed(ACME),
        )
        assert refund.status_code == 201, refund.text
        existing["refund_id"] = [refund.json()["id"]]
        endpoints = []
        for _ in range(2):
            created = await client.post(
                "/payguard/v1/webhook-endpoints", json={"url": "https://shop.example/hooks"}, headers=keyed(ACME)
            )
            assert created.status_code == 201, created.text
            endpoints.append(created.json()["id"])
        existing["endpoint_id"] = endpoints
        events = await client.get("/payguard/v1/events?limit=2", headers=ACME)
        existing["event_id"] = [event["id"] for event in events.json()["items"]]
    else:
        existing["payment_id"] = await _payments(client, SHOP, "flagged", 2)
        await work_off(client.app)  # their orders could not be made: flagged for an admin
    return existing


async def _merchants(client: Client) -> None:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure("key_acme", name="Acme", secret="secret_acme")
        await MerchantService(db).ensure(DEFAULT_MERCHANT_KEY, name="Shop", secret=SHOP["X-Api-Secret"])
        await db.commit()


def _as_a_client(case: Any) -> Any:
    """A valid request as a client sends it: a new ``Idempotency-Key`` for a new request, no made-up cursor.

    Generated keys are short and repeat; a key already used with another request is refused (422
    ``IDEMPOTENCY_KEY_REUSED``), which says nothing about whether the request was valid. So a generated key gets a
    unique prefix.
    """
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str):
        case.headers["Idempotency-Key"] = (uuid.uuid4().hex + key)[:255].rstrip(" ")
    for name in ISSUED:
        (case.query or {}).pop(name, None)
    return case


def _acting_on(case: Any, existing: Mapping[str, str]) -> Any:
    """The case naming resources that exist in its path, and carrying a cursor the API gave out in its query."""
    query = {name: value for name, value in existing.items() if name in ISSUED}
    case.path_parameters = {**(case.path_parameters or {}), **{k: v for k, v in existing.items() if k not in query}}
    if query:
        case.query = {**(case.query or {}), **query}
    return case


def _inputs(operation: Any) -> list[str]:
    """The inputs of an operation that name something existing: its path parameters and issued values."""
    return [p.name for p in operation.iter_parameters() if p.location == "path" or p.name in ISSUED]


def _strategies(operation: Any, existing: dict[str, list[str]] | None) -> dict[str, Any]:
    strategies = {
        "generated": operation.as_strategy(GenerationMode.POSITIVE).map(_as_a_client),
        "negative": operation.as_strategy(GenerationMode.NEGATIVE),
    }
    if existing is not None:
        known = {name: st.sampled_from(existing[name]) for name in _inputs(operation) if name in existing}
        if "plan" in _inputs(operation):  # the host's checkouts: a plan the customer has no open payment for
            known["plan"] = st.builds(lambda: f"plan-{uuid.uuid4().hex[:12]}")
        strategies["existing"] = st.builds(_acting_on, strategies["generated"], st.fixed_dictionaries(known))
    return strategies


def _owns(operation: Any, identity: str) -> bool:
    """Whether the operation is the identity's (an operation without security is the customer's, run once)."""
    schemes = {name for requirement in operation.definition.raw.get("security") or [] for name in requirement}
    return OWN_SCHEMES[identity] in schemes or (not schemes and identity == "customer")


def _run(operations: list[Any], base_url: str, identity: str, prepare: Any) -> list[str]:
    """Call every operation; the failures found, one paragraph each (none: the contract holds)."""
    failures: list[str] = []
    for operation in operations:
        own = _owns(operation, identity)
        strategies = _strategies(operation, prepare() if own and _inputs(operation) else None)
        for kind, strategy in strategies.items() if own else [("generated", strategies["generated"])]:

            @settings(SETTINGS, max_examples=EXAMPLES[kind] if own else 1)
            @given(case=strategy)
            def call(case: Any) -> None:
                case.call_and_validate(base_url=base_url, headers=IDENTITIES[identity])

            try:
                call()
            except Unsatisfiable:
                assert kind == "negative"  # nothing in the operation can be made invalid (no parameter, no body)
            except (Exception, BaseExceptionGroup) as exc:  # every failure is reported, not only the first
                failures.append(f"{operation.label} [{kind}]: " + "\n".join(str(exc).splitlines()[:14]))
    return failures


@pytest.mark.parametrize("identity", list(IDENTITIES))
async def test_every_answer_is_the_documented_one(client_for: ClientFactory, identity: str) -> None:
    host = client_for(on_payment_succeeded=_flaky_fulfilment, fulfilment_max_attempts=1)
    async with host as client, listening(client.app) as base_url:
        await _merchants(client)
        document = (await client.get("/schema/openapi.json")).json()
        schema = schemathesis.openapi.from_dict(document, config=_config(identity))
        operations = [result.ok() for result in schema.get_all_operations()]
        loop = asyncio.get_running_loop()

        def prepare() -> dict[str, list[str]]:
            return asyncio.run_coroutine_threadsafe(_existing(client, identity), loop).result()

        failures = await asyncio.to_thread(_run, operations, base_url, identity, prepare)

    assert len(operations) == sum(method in METHODS for item in document["paths"].values() for method in item) == 52
    assert not failures, "\n\n".join(failures)
