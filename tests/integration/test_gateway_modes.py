"""Test mode means no real money: each payment records its mode and gateway, and only that gateway moves it.

The live gateway here is the Razorpay adapter with live keys against a local fake Razorpay: what reaches it is
what would have moved real money.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from litestar_payguard import MerchantService, RazorpayGateway, SimulatedGateway
from litestar_payguard.gateways.razorpay_webhooks import webhook_signature
from litestar_payguard.services.gateway_modes import GatewayNotConfiguredError
from litestar_payguard.testing import ManualClock
from litestar_payguard.testing.razorpay import FakeRazorpay
from tests.hostapp import DEFAULT_MERCHANT_KEY
from tests.integration.conftest import ALICE, Client, ClientFactory, Store, create_session, payguard_of
from tests.integration.test_payments_api import (
    ACME,
    GLOBEX,
    PAYMENTS,
    create_payment,
    keyed,
    payment_body,
    seed_merchants,
)
from tests.support import work_off

HOOKS = "/payguard/gateways/razorpay/webhooks"


@pytest.fixture
def live_fake() -> Iterator[FakeRazorpay]:
    with FakeRazorpay("rzp_live_PayGuardShop", "live-key-secret", "live-hook-secret") as server:
        yield server


@pytest.fixture
def test_fake() -> Iterator[FakeRazorpay]:
    with FakeRazorpay("rzp_test_PayGuardShop", "test-key-secret", "test-hook-secret") as server:
        yield server


def adapter(fake: FakeRazorpay) -> RazorpayGateway:
    """The Razorpay adapter with the fake's keys: live or test as they are."""
    return RazorpayGateway(fake.key_id, fake.key_secret, fake.webhook_secret, base_url=fake.url)


async def seed_test_and_live(client: Client) -> None:
    """Acme in test mode (the default), Globex live."""
    payguard = payguard_of(client.app)
    async with payguard.db_session() as db:
        merchants = MerchantService(db, payguard.config)
        await merchants.ensure("key_acme", secret="secret_acme")
        await merchants.ensure("key_globex", secret="secret_globex", test_mode=False)
        await db.commit()


async def test_a_test_merchants_payment_never_reaches_the_live_gateway_and_a_live_merchants_does(
    client_for: ClientFactory, live_fake: FakeRazorpay, store: Store
) -> None:
    simulated = SimulatedGateway()
    async with client_for(live_gateway=adapter(live_fake), test_gateway=simulated) as client:
        await seed_test_and_live(client)
        test = await create_payment(client, ACME, vpa="success@razorpay")
        live = await create_payment(client, GLOBEX, vpa="success@razorpay")
        await work_off(client.app)
        for payment, headers in ((test, ACME), (live, GLOBEX)):
            refund = await client.post(f"{PAYMENTS}/{payment['id']}/refunds", json={}, headers=keyed(headers))
            assert refund.status_code == 201, refund.text
        await work_off(client.app)
        views = [
            (await client.get(f"{PAYMENTS}/{p['id']}", headers=h)).json() for p, h in ((test, ACME), (live, GLOBEX))
        ]
        stored = await store.rows("SELECT id::text, mode, gateway FROM payguard_payment ORDER BY mode")

    assert [(view["status"], view["mode"], view["gateway"]) for view in views] == [
        ("refunded", "test", "simulated"),
        ("refunded", "live", "razorpay"),
    ]
    assert stored == [
        {"id": live["id"], "mode": "live", "gateway": "razorpay"},
        {"id": test["id"], "mode": "test", "gateway": "simulated"},
    ]
    assert live_fake.captures_by_receipt() == {live["id"]: 1}  # no order of the test payment, ever
    assert len(live_fake.refunds(views[1]["gatewayPaymentId"])) == 1
    assert dict(simulated.charges) == {test["id"]: 1}


async def test_a_live_merchant_cannot_be_created_in_a_deployment_without_a_live_gateway(
    client: Client, store: Store
) -> None:
    payguard = payguard_of(client.app)
    async with payguard.db_session() as db:
        with pytest.raises(GatewayNotConfiguredError):
            await MerchantService(db, payguard.config).ensure("key_live", test_mode=False)
        with pytest.raises(GatewayNotConfiguredError):  # without the config, nothing can vouch for a live gateway
            await MerchantService(db).ensure("key_live_too", test_mode=False)
        await MerchantService(db, payguard.config).ensure("key_plain")
        await db.commit()

    assert await store.rows("SELECT api_key, test_mode FROM payguard_merchant") == [
        {"api_key": "key_plain", "test_mode": True}
    ]


async def test_a_live_merchants_payment_is_refused_without_a_live_gateway_and_nothing_is_stored(
    client: Client, store: Store
) -> None:
    async with payguard_of(client.app).db_session() as db:
        await MerchantService(db).ensure("key_globex", secret="secret_globex")
        await MerchantService(db).ensure(DEFAULT_MERCHANT_KEY)
        await db.commit()
    # Made live while the deployment had a live gateway; this one has none.
    await store.execute("UPDATE payguard_merchant SET test_mode = false")

    api = await client.post(PAYMENTS, json=payment_body(), headers=keyed(GLOBEX))
    checkout = await client.post(
        "/payguard/sessions", json={"bundleId": "gold", "amount": 4900, "currency": "USD"}, headers=ALICE
    )

    for refused in (api, checkout):
        assert (refused.status_code, refused.json()["code"]) == (409, "GATEWAY_NOT_CONFIGURED"), refused.text
        assert refused.json()["mode"] == "live"
    assert await store.count("payguard_payment") == 0
    assert await store.count("payguard_session") == 0
    assert await store.count("payguard_event") == 0


async def test_a_payment_is_never_sent_to_another_gateway_than_the_one_it_was_made_with(
    client_for: ClientFactory, test_fake: FakeRazorpay, store: Store, clock: ManualClock
) -> None:
    async with client_for(test_gateway=adapter(test_fake)) as client:
        await seed_merchants(client)
        paid = await create_payment(client, ACME, vpa="success@razorpay")
        await work_off(client.app)
        waiting = await create_payment(client, ACME, vpa="success@razorpay")  # not yet taken up
    simulated = SimulatedGateway()
    # The deployment's test gateway changed since: the payments stay with Razorpay's books, never the new gateway's.
    async with client_for(test_gateway=simulated, gateway_max_attempts=2) as client:
        refund = await client.post(f"{PAYMENTS}/{paid['id']}/refunds", json={}, headers=keyed(ACME))
        await work_off(client.app)
        clock.advance(3600)  # past the retry's backoff
        await work_off(client.app)
        flagged = (await client.get(f"{PAYMENTS}/{waiting['id']}", headers=ACME)).json()

    assert (refund.status_code, refund.json()["code"]) == (409, "GATEWAY_NOT_CONFIGURED")
    assert await store.count("payguard_refund") == 0
    assert (flagged["status"], flagged["needsAttention"]) == ("processing", True)
    assert "GatewayNotConfiguredError" in flagged["attentionReason"]
    assert dict(simulated.charges) == {}
    assert test_fake.captures_by_receipt() == {paid["id"]: 1}


async def test_a_webhook_touches_only_payments_of_the_mode_whose_secret_signed_it(
    client_for: ClientFactory,
    live_fake: FakeRazorpay,
    test_fake: FakeRazorpay,
) -> None:
    async with client_for(live_gateway=adapter(live_fake), test_gateway=adapter(test_fake)) as client:
        await seed_test_and_live(client)
        test = await create_payment(client, ACME, vpa="success@razorpay")
        live = await create_payment(client, GLOBEX, vpa="success@razorpay")
        await work_off(client.app)
        refs = {
            name: (await client.get(f"{PAYMENTS}/{payment['id']}", headers=headers)).json()["gatewayPaymentId"]
            for name, payment, headers in (("test", test, ACME), ("live", live, GLOBEX))
        }
        outcomes = {}
        for name, fake in (("test", test_fake), ("live", live_fake)):
            headers, body = fake.webhook("payment.captured", refs[name])
            own = await client.post(HOOKS, content=body, headers=headers)
            other_secret = (live_fake if name == "test" else test_fake).webhook_secret
            resigned = {
                **headers,
                "X-Razorpay-Signature": webhook_signature(other_secret, body),
                "X-Razorpay-Event-Id": f"{headers['X-Razorpay-Event-Id']}-other",
            }
            other = await client.post(HOOKS, content=body, headers=resigned)
            outcomes[name] = (own.json()["outcome"], other.json()["outcome"])
        forged = await client.post(
            HOOKS, content=body, headers={**headers, "X-Razorpay-Signature": webhook_signature("nobody's", body)}
        )

    # "stale": the payment was found (and is final already); "unknown": no payment of that mode has the ids.
    assert outcomes == {"test": ("stale", "unknown"), "live": ("stale", "unknown")}
    assert (forged.status_code, forged.json()["code"]) == (400, "INVALID_SIGNATURE")


async def test_the_default_merchant_of_a_deployment_with_a_live_gateway_is_live_and_pays_through_it(
    client_for: ClientFactory, live_fake: FakeRazorpay, store: Store
) -> None:
    async with client_for(live_gateway=adapter(live_fake)) as client:
        session = await create_session(client)
        order = await client.post(f"/payguard/sessions/{session['id']}/order", headers=ALICE)

    assert (order.status_code, order.json()["gateway"]) == (200, "razorpay"), order.text
    assert live_fake.order(order.json()["gatewayOrderId"])["receipt"] == session["payment"]["id"]
    assert (
        await store.scalar("SELECT test_mode FROM payguard_merchant WHERE api_key = :key", key=DEFAULT_MERCHANT_KEY)
        is False
    )
    assert await store.scalar("SELECT mode FROM payguard_payment") == "live"
