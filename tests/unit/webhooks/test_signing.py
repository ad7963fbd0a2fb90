"""Secrets and signatures of litestar_payguard.webhooks: the primitives payguard's deliveries are signed with."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from litestar_payguard.webhooks import generate_secret, secret_key, sign, signature_header
from tests.unit.webhooks import vector

BODY = b'{"type":"payment.succeeded","timestamp":"2026-12-03T07:00:00Z","data":{}}'


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.mark.parametrize("nbytes", [24, 32, 64])
def test_a_generated_secret_is_whsec_and_base64_of_that_many_random_bytes(nbytes: int) -> None:
    secret = generate_secret(nbytes)
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == nbytes
    assert len(secret_key(secret)) == nbytes


def test_the_default_secret_has_32_bytes_and_no_two_are_alike() -> None:
    secrets = {generate_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert {len(secret_key(secret)) for secret in secrets} == {32}


@pytest.mark.parametrize("nbytes", [0, 16, 23, 65, 512])
def test_a_secret_outside_the_specifications_24_to_64_bytes_is_refused(nbytes: int) -> None:
    with pytest.raises(ValueError, match="24 to 64"):
        generate_secret(nbytes)


@pytest.mark.parametrize("nbytes", [True, 32.0, "32"])
def test_a_size_that_is_not_an_int_is_refused(nbytes: object) -> None:
    with pytest.raises(TypeError):
        generate_secret(nbytes)  # type: ignore[arg-type]


def test_the_key_is_the_same_with_or_without_prefix_padding_or_surrounding_blanks() -> None:
    raw = bytes(range(1, 26))  # 25 bytes: base64 with "==" padding
    padded = b64(raw)
    assert padded.endswith("==")
    forms = ["whsec_" + padded, padded, padded.rstrip("="), "whsec_" + padded.rstrip("="), f"  whsec_{padded}\n"]
    assert {secret_key(form) for form in forms} == {raw}


@pytest.mark.parametrize(
    ("secret", "complaint"),
    [
        ("", "empty"),
        ("whsec_", "empty"),
        ("   ", "empty"),
        ("whsec_not base64 at all!!", "not base64"),
        ("whsec_" + b64(b"k" * 24).replace("a", "_"), "not base64"),  # urlsafe alphabet is not the scheme's
        ("whsk_" + b64(b"k" * 32), "not base64"),  # an asymmetric key, another scheme
        ("whsec_" + b64(b"k" * 23), "24 to 64 bytes, this one to 23"),
        ("whsec_" + b64(b"k" * 65), "24 to 64 bytes, this one to 65"),
    ],
)
def test_a_bad_secret_is_a_clear_value_error_that_never_repeats_it(secret: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint) as caught:
        secret_key(secret)
    encoded = secret.strip().removeprefix("whsec_")
    assert not encoded or encoded not in str(caught.value)
    assert caught.value.__cause__ is None


@given(st.binary(min_size=24, max_size=64))
def test_any_key_of_the_allowed_sizes_round_trips(raw: bytes) -> None:
    assert secret_key("whsec_" + b64(raw)) == raw
    assert secret_key(b64(raw).rstrip("=")) == raw


def test_a_secret_that_is_not_a_str_is_refused() -> None:
    with pytest.raises(TypeError):
        secret_key(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")  # type: ignore[arg-type]


def test_sign_reproduces_the_standard_webhooks_test_vector() -> None:
    assert sign(vector.MSG_ID, vector.TIMESTAMP, vector.PAYLOAD, vector.SECRET) == vector.SIGNATURE
    assert sign(vector.MSG_ID, vector.TIMESTAMP, vector.PAYLOAD, vector.SECRET.removeprefix("whsec_")) == (
        vector.SIGNATURE
    )


@pytest.mark.parametrize(
    "changed",
    [
        {"msg_id": vector.MSG_ID + "x"},
        {"timestamp": vector.TIMESTAMP + 1},
        {"body": vector.PAYLOAD + b" "},
        {"secret": "whsec_" + b64(b"\x00" * 24)},
    ],
    ids=["id", "timestamp", "body", "secret"],
)
def test_every_signed_part_changes_the_signature(changed: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "msg_id": vector.MSG_ID,
        "timestamp": vector.TIMESTAMP,
        "body": vector.PAYLOAD,
        "secret": vector.SECRET,
    }
    signature = sign(**{**arguments, **changed})  # type: ignore[arg-type]
    assert signature.startswith("v1,")
    assert signature != vector.SIGNATURE
    assert len(base64.b64decode(signature.removeprefix("v1,"), validate=True)) == 32


@pytest.mark.parametrize(
    ("msg_id", "timestamp", "body", "error"),
    [
        ("", 1, b"{}", ValueError),
        ("msg.1", 1, b"{}", ValueError),  # a dot would let the id and the timestamp trade places
        ("msg 1", 1, b"{}", ValueError),  # a space would split the signed header
        ("msg_é", 1, b"{}", ValueError),  # a header value is ASCII
        ("msg_\n", 1, b"{}", ValueError),
        ("msg_1", -1, b"{}", ValueError),
        ("msg_1", 1.5, b"{}", ValueError),
        ("msg_1", True, b"{}", ValueError),
        ("msg_1", 1, "{}", TypeError),  # the exact bytes sent are signed, not a str re-encoded later
    ],
)
def test_sign_refuses_what_it_cannot_sign_unambiguously(
    msg_id: str, timestamp: int, body: bytes, error: type[Exception]
) -> None:
    with pytest.raises(error):
        sign(msg_id, timestamp, body, vector.SECRET)


def test_the_header_has_one_signature_per_secret_in_order() -> None:
    old, new = generate_secret(), generate_secret()
    header = signature_header("msg_1", 1_700_000_000, BODY, [new, old])
    assert header == f"{sign('msg_1', 1_700_000_000, BODY, new)} {sign('msg_1', 1_700_000_000, BODY, old)}"
    assert signature_header("msg_1", 1_700_000_000, BODY, (new,)) == sign("msg_1", 1_700_000_000, BODY, new)


def test_the_header_needs_a_list_of_at_least_one_secret() -> None:
    with pytest.raises(ValueError, match="at least one"):
        signature_header("msg_1", 1, BODY, [])
    with pytest.raises(TypeError, match="list"):
        signature_header("msg_1", 1, BODY, vector.SECRET)
    with pytest.raises(ValueError, match="not base64"):
        signature_header("msg_1", 1, BODY, [generate_secret(), "whsec_???"])
