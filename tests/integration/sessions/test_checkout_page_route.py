"""The hosted checkout page's route and static files: what the server sends before any script runs."""

from __future__ import annotations

import json
import re
import uuid

from litestar_payguard import MerchantService
from litestar_payguard.gateways.razorpay import RazorpayGateway
from litestar_payguard.pages import STATIC_DIRECTORY
from tests.integration.conftest import ON_BOTH_DATABASES, Client, ClientFactory, Store, payguard_of
from tests.integration.sessions.test_merchant_sessions import ORIGINS, open_session, seed_shop

CONFIG = re.compile(r'<script type="application/json" id="payguard-config">(.*?)</script>', re.S)


def _config(html: str) -> dict[str, object]:
    found = CONFIG.search(html)
    assert found is not None, html
    return dict(json.loads(found.group(1)))


def _directives(header: str) -> dict[str, str]:
    return {name: value for name, _, value in (part.strip().partition(" ") for part in header.split(";"))}


@ON_BOTH_DATABASES
async def test_the_page_is_static_html_with_a_strict_policy(client: Client, store: Store) -> None:
    await seed_shop(client)
    session = (await open_session(client, amount=12_345, currency="jpy")).json()
    events = await store.count("payguard_event")

    response = await client.get(f"/payguard/checkout/{session['id']}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    policy = _directives(response.headers["content-security-policy"])
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == policy["connect-src"] == policy["style-src"] == "'self'"
    assert policy["frame-src"] == "'none'"
    assert policy["frame-ancestors"] == " ".join(["'self'", *sorted(ORIGINS)])
    assert _config(response.text) == {
        "sessionId": session["id"],
        "api": "/payguard",
        "merchantName": "Shop",
        "embedOrigin": None,
        "minorUnits": 0,  # yen have none
        "testMode": True,
        "checkout": None,  # the simulated gateway: the test-mode panel
    }
    assert "<script>" not in response.text  # no inline script: the policy would refuse it
    assert 'src="/payguard/static/checkout-page.js"' in response.text  # absolute: the page's URL may end in "/"
    assert await store.count("payguard_event") == events  # reading the page changes nothing


@ON_BOTH_DATABASES
async def test_the_page_reports_only_to_an_allowed_embedding_origin(client: Client) -> None:
    await seed_shop(client)
    session = (await open_session(client)).json()
    page = f"/payguard/checkout/{session['id']}"

    allowed = await client.get(page, params={"embed": "https://shop.example"})
    own = await client.get(page, params={"embed": "http://testserver"})
    other = await client.get(page, params={"embed": "https://evil.example"})
    prefix = await client.get(page, params={"embed": "https://shop.example.evil.example"})

    assert _config(allowed.text)["embedOrigin"] == "https://shop.example"
    assert _config(own.text)["embedOrigin"] == "http://testserver"  # the host's own pages
    assert _config(other.text)["embedOrigin"] is None
    assert _config(prefix.text)["embedOrigin"] is None


async def test_an_unknown_session_gets_the_same_page_that_no_other_site_may_embed(client: Client) -> None:
    for session_id in (str(uuid.uuid4()), "not-a-uuid", "x<script>alert(1)<!--"):
        response = await client.get(f"/payguard/checkout/{session_id}")

        assert response.status_code == 200
        assert _directives(response.headers["content-security-policy"])["frame-ancestors"] == "'self'"
        config = _config(response.text)
        assert config["sessionId"] == session_id  # read back intact: "<" is escaped, nothing breaks out
        assert config["merchantName"] == ""


async def test_a_merchant_without_allowed_origins_lets_no_other_site_embed_its_page(client: Client) -> None:
    await seed_shop(client, origins=[])
    session = (await open_session(client)).json()

    response = await client.get(f"/payguard/checkout/{session['id']}")

    assert _directives(response.headers["content-security-policy"])["frame-ancestors"] == "'self'"


async def test_with_razorpay_the_page_may_load_its_checkout_and_nothing_else(client_for: ClientFactory) -> None:
    gateway = RazorpayGateway(
        "rzp_test_page",
        "key-secret",
        "hook-secret",
        base_url="http://127.0.0.1:9",
        checkout_script_url="http://127.0.0.1:9/v1/checkout.js",
    )
    async with client_for(test_gateway=gateway) as client:
        async with payguard_of(client.app).db_session() as db:
            await MerchantService(db).ensure("key_shop", name="Shop", secret="secret_shop", allowed_origins=ORIGINS)
            await db.commit()
        session = (await open_session(client)).json()
        response = await client.get(f"/payguard/checkout/{session['id']}")

    policy = _directives(response.headers["content-security-policy"])
    assert policy["script-src"] == policy["connect-src"] == "'self' http://127.0.0.1:9"
    assert policy["frame-src"] == policy["font-src"] == "http://127.0.0.1:9"
    assert policy["style-src"] == "'self' 'unsafe-inline' http://127.0.0.1:9"  # styles only: never inline scripts
    assert policy["img-src"] == "'self' data: http://127.0.0.1:9"
    assert _config(response.text)["checkout"] == {
        "scriptUrl": "http://127.0.0.1:9/v1/checkout.js",
        "keyId": "rzp_test_page",
    }


async def test_the_static_files_are_served_and_checkout_js_is_small(client: Client) -> None:
    script = await client.get("/payguard/static/checkout.js")
    page_script = await client.get("/payguard/static/checkout-page.js")
    missing = await client.get("/payguard/static/nothing.js")
    outside = await client.get("/payguard/static/../pages/checkout.html")

    assert script.status_code == page_script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.headers["x-content-type-options"] == "nosniff"
    assert script.content == (STATIC_DIRECTORY / "checkout.js").read_bytes()
    assert len(script.content) < 10 * 1024
    assert missing.status_code == 404
    assert outside.status_code == 404
