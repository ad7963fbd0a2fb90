"""litestar_payguard.webhooks.verify: what a merchant's backend accepts, and every way a delivery is refused."""

from __future__ import annotations

import base64
import hmac
import json
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from litestar_payguard import webhooks
from litestar_payguard.webhooks import WebhookEvent, WebhookVerificationError, generate_secret, sign, verify

SECRET = "whsec_" + base64.b64encode(b"payguard-test-secret-0123456789!").decode()
OTHER = "whsec_" + base64.b64encode(b"another-endpoint-secret-98765432").decode()
NOW = 1_800_000_000
BODY = b'{"type":"payment.succeeded","timestamp":"2026-12-03T07:00:00.5Z","data":{"paymentId":"p_1","amount":1500}}'


def clock(at: float = NOW) -> Any:
    return lambda: at


def headers(body: bytes = BODY, *, secrets: list[str] | None = None, at: int = NOW, msg_id: str = "msg_1") -> dict:
    signatures = " ".join(sign(msg_id, at, body, secret) for secret in secrets or [SECRET])
    return {"webhook-id": msg_id, "webhook-timestamp": str(at), "webhook-signature": signatures}


def refused(body: bytes | str, given_headers: dict, secrets: Any = SECRET, **options: Any) -> str:
    """Verify, expect a refusal, and check that its message gives away no secret and no signature."""
    with pytest.raises(WebhookVerificationError) as caught:
        verify(body, given_headers, secrets, now=options.pop("now", clock()), **options)
    message = str(caught.value)
    for secret in [SECRET, OTHER, *([secrets] if isinstance(secrets, str) else secrets)]:
        assert secret.removeprefix("whsec_") not in message
    for signature in given_headers.get("webhook-signature", "").split():
        assert signature.partition(",")[2] not in message or not signature.partition(",")[2]
    assert caught.value.__cause__ is None
    return message


def test_a_signed_delivery_is_accepted_and_parsed() -> None:
    event = verify(BODY, headers(), SECRET, now=clock())
    assert event == WebhookEvent(
        id="msg_1",
        type="payment.succeeded",
        timestamp=datetime(2026, 12, 3, 7, 0, 0, 500_000, tzinfo=UTC),
        data={"paymentId": "p_1", "amount": 1500},
        raw=BODY,
    )
    assert verify(BODY.decode(), headers(), SECRET, now=clock()) == event
    assert verify(bytearray(BODY), headers(), [SECRET], now=clock()) == event  # type: ignore[arg-type]


def test_the_default_clock_is_the_wall_clock() -> None:
    at = int(time.time())
    assert verify(BODY, headers(at=at), SECRET).id == "msg_1"
    refused(BODY, headers(at=at - 3600), now=time.time)


@pytest.mark.parametrize("case", [str.lower, str.upper, str.title])
def test_header_names_are_matched_whatever_their_case(case: Any) -> None:
    given_headers = {case(name): value for name, value in headers().items()}
    assert verify(BODY, given_headers, SECRET, now=clock()).id == "msg_1"


def test_values_are_read_without_surrounding_blanks() -> None:
    given_headers = {name: f" {value} " for name, value in headers().items()}
    assert verify(BODY, given_headers, SECRET, now=clock()).id == "msg_1"


def test_svix_header_names_are_not_read() -> None:
    """The specification names only webhook-*, and payguard sends only those (docs/webhooks.md says why)."""
    svix = {name.replace("webhook-", "svix-"): value for name, value in headers().items()}
    assert "missing webhook headers: webhook-id, webhook-timestamp, webhook-signature" in refused(BODY, svix)


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
@pytest.mark.parametrize("how", ["absent", "empty", "blank"])
def test_a_missing_header_is_refused(name: str, how: str) -> None:
    given_headers = headers()
    if how == "absent":
        del given_headers[name]
    else:
        given_headers[name] = "" if how == "empty" else "  "
    assert refused(BODY, given_headers) == f"missing webhook headers: {name}"


def test_an_id_that_is_no_text_is_refused() -> None:
    assert refused(BODY, {**headers(), "webhook-id": "msg_\ud800"}) == "the webhook-id header is not text"


def test_a_header_given_twice_with_different_values_is_refused() -> None:
    given_headers = {**headers(), "Webhook-Id": "msg_2"}
    assert "webhook-id header is given twice" in refused(BODY, given_headers)
    same = {**headers(), "Webhook-Id": "msg_1"}
    assert verify(BODY, same, SECRET, now=clock()).id == "msg_1"


@pytest.mark.parametrize(
    "timestamp", ["soon", "1.8e9", "1800000000.0", "-1800000000", "+1800000000", "0x6b49d200", "1_800_000_000", "١٨٠"]
)
def test_a_timestamp_that_is_not_integer_unix_seconds_is_refused(timestamp: str) -> None:
    given_headers = {**headers(), "webhook-timestamp": timestamp}
    assert "not an integer of unix seconds" in refused(BODY, given_headers)


@given(st.text(min_size=1).filter(lambda text: not text.strip().isascii() or not text.strip().isdigit()))
def test_any_non_digit_timestamp_is_refused(timestamp: str) -> None:
    given_headers = {**headers(), "webhook-timestamp": timestamp}
    with pytest.raises(WebhookVerificationError, match="webhook-timestamp"):
        verify(BODY, given_headers, SECRET, now=clock())


@pytest.mark.parametrize(("offset", "complaint"), [(-301, "301 s old"), (301, "301 s in the future")])
def test_a_timestamp_outside_the_tolerance_is_refused_either_way(offset: int, complaint: str) -> None:
    message = refused(BODY, headers(at=NOW + offset))
    assert complaint in message
    assert "300 s tolerated" in message


@pytest.mark.parametrize("offset", [-300, -1, 0, 1, 300])
def test_a_timestamp_within_the_tolerance_is_accepted(offset: int) -> None:
    assert verify(BODY, headers(at=NOW + offset), SECRET, now=clock()).id == "msg_1"


def test_the_tolerance_can_be_narrowed_or_widened() -> None:
    refused(BODY, headers(at=NOW - 1), tolerance=0)
    assert verify(BODY, headers(at=NOW), SECRET, tolerance=0, now=clock()).id == "msg_1"
    assert verify(BODY, headers(at=NOW - 3600), SECRET, tolerance=3600, now=clock()).id == "msg_1"
    refused(BODY, headers(at=NOW - 3601), tolerance=3600)


def test_a_stale_timestamp_is_refused_even_with_a_valid_signature_for_it() -> None:
    """A replayed delivery keeps its signature, which covers its timestamp: only the clock catches it."""
    old = headers(at=NOW - 3600)
    assert verify(BODY, old, SECRET, now=clock(NOW - 3600)).id == "msg_1"
    assert "old" in refused(BODY, old)


def whole() -> str:
    return sign("msg_1", NOW, BODY, SECRET).removeprefix("v1,")


@pytest.mark.parametrize(
    "signature",
    [
        "v1,",
        "v1",
        ",",
        "v1,AAAA",
        "v1," + base64.b64encode(base64.b64decode(whole())[:31]).decode(),  # a truncated HMAC
        "v1," + base64.b64encode(base64.b64decode(whole())[:16]).decode(),
        "v1," + whole()[:10],  # a prefix of the right one
        "v1," + whole()[:-1],  # not base64 any more
        "v1," + whole() + "AAAA",  # too long
        "v1," + whole().replace("=", ""),  # unpadded: not the scheme's base64
    ],
)
def test_an_empty_short_or_malformed_signature_never_matches(signature: str) -> None:
    given_headers = {**headers(), "webhook-signature": signature}
    assert "no v1 signature" in refused(BODY, given_headers)


@pytest.mark.parametrize("version", ["v1a", "v2", "V1", "v0", "", "v1 "])
def test_only_the_v1_identifier_counts(version: str) -> None:
    given_headers = {**headers(), "webhook-signature": f"{version},{whole()}"}
    assert "no v1 signature" in refused(BODY, given_headers)


def test_other_versions_and_junk_beside_a_valid_v1_are_ignored() -> None:
    junk = ["v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==", "v2,xx"]
    given_headers = {**headers(), "webhook-signature": "  ".join([*junk, "v1,", f"v1,{whole()}", "nonsense"])}
    assert verify(BODY, given_headers, SECRET, now=clock()).id == "msg_1"


def test_a_signature_made_with_another_secret_is_refused() -> None:
    assert "no v1 signature" in refused(BODY, headers(secrets=[OTHER]))


@pytest.mark.parametrize(
    "changed",
    [{"webhook-id": "msg_2"}, {"webhook-timestamp": str(NOW + 1)}],
    ids=["id", "timestamp"],
)
def test_the_id_and_the_timestamp_are_signed_too(changed: dict[str, str]) -> None:
    assert "no v1 signature" in refused(BODY, {**headers(), **changed})


@given(st.data())
def test_any_changed_byte_of_the_body_is_refused(data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(BODY) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda byte: byte != BODY[position]))
    tampered = BODY[:position] + bytes([replacement]) + BODY[position + 1 :]
    with pytest.raises(WebhookVerificationError, match="no v1 signature"):
        verify(tampered, headers(), SECRET, now=clock())


def test_a_reserialized_body_is_refused() -> None:
    """The classic receiver bug: parsing the JSON and dumping it again changes the bytes."""
    assert "no v1 signature" in refused(json.dumps(json.loads(BODY)), headers())


def test_during_a_rotation_either_secret_verifies_and_any_of_several_given_may_match() -> None:
    both = headers(secrets=[OTHER, SECRET])
    assert verify(BODY, both, SECRET, now=clock()).id == "msg_1"
    assert verify(BODY, both, OTHER, now=clock()).id == "msg_1"
    assert verify(BODY, headers(), [OTHER, SECRET], now=clock()).id == "msg_1"
    assert verify(BODY, headers(), (SECRET,), now=clock()).id == "msg_1"
    refused(BODY, both, [generate_secret(), generate_secret()])


def test_every_signature_is_compared_with_every_key_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", recording)
    given_headers = headers(secrets=[SECRET, OTHER])
    verify(BODY, given_headers, [generate_secret(), SECRET, generate_secret()], now=clock())
    assert len(compared) == 2 * 3  # no early exit: the time does not say which signature or which key matched


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a Standard Webhooks event"),
        (b'{"type":"payment.succeeded","timestamp":"2026-12-03T07:00:00Z"}', "missing required field `data`"),
        (b'{"type":"payment.succeeded","timestamp":"2026-12-03T07:00:00","data":{}}', "timezone"),
        (b'{"type":"payment.succeeded","timestamp":"2026-12-03T07:00:00Z","data":[]}', "$.data"),
        (b'{"type":7,"timestamp":"2026-12-03T07:00:00Z","data":{}}', "$.type"),
    ],
)
def test_a_validly_signed_body_of_the_wrong_shape_is_refused(body: bytes, complaint: str) -> None:
    assert complaint in refused(body, headers(body))


def test_fields_a_later_version_adds_are_ignored() -> None:
    body = b'{"type":"refund.processed","timestamp":"2026-12-03T07:00:00+05:30","data":{},"apiVersion":"2"}'
    event = verify(body, headers(body), SECRET, now=clock())
    assert (event.type, event.timestamp) == ("refund.processed", datetime(2026, 12, 3, 1, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("secrets", "options"),
    [([], {}), ("whsec_", {}), (["whsec_???"], {}), (SECRET, {"tolerance": -1}), (SECRET, {"tolerance": 1.5})],
)
def test_the_receivers_own_misconfiguration_is_a_plain_value_error(secrets: Any, options: dict[str, Any]) -> None:
    """Not a WebhookVerificationError: a receiver answering those with 400 would blame the sender for its bug."""
    with pytest.raises(ValueError) as caught:
        verify(BODY, headers(), secrets, now=clock(), **options)
    assert not isinstance(caught.value, WebhookVerificationError)


@given(
    msg_id=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="."), min_size=1),
    at=st.integers(0, 10**11),
    data=st.dictionaries(st.text(), st.integers() | st.text() | st.booleans() | st.none()),
    secret=st.binary(min_size=24, max_size=64).map(lambda raw: "whsec_" + base64.b64encode(raw).decode()),
)
def test_whatever_is_signed_is_verified(msg_id: str, at: int, data: dict[str, Any], secret: str) -> None:
    body = json.dumps({"type": "payment.expired", "timestamp": "2026-12-03T07:00:00Z", "data": data}).encode()
    signed = headers(body, secrets=[secret], at=at, msg_id=msg_id)
    event = verify(body, signed, secret, now=clock(at))
    assert (event.id, event.data, event.raw) == (msg_id, data, body)
