"""Signing secrets at rest: sealed with the configured key, stored as they are without one, never shown."""

from __future__ import annotations

import base64
import logging

import pytest

from litestar_payguard.exceptions import WebhookSecretUnreadableError
from litestar_payguard.services.webhooks.outbound import SEALED_PREFIX, SecretBox, is_sealed

KEY = base64.b64encode(bytes(range(32))).decode()
OTHER_KEY = base64.b64encode(bytes(range(1, 33))).decode()
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_a_sealed_secret_is_recognisable_opens_with_its_key_and_does_not_contain_the_secret() -> None:
    box = SecretBox(KEY)
    sealed = box.seal(SECRET, context="wep_1")
    assert box.sealing
    assert is_sealed(sealed)
    assert sealed.startswith(SEALED_PREFIX)
    assert SECRET not in sealed
    assert "MfKQ9r8G" not in sealed
    assert base64.urlsafe_b64decode(sealed.removeprefix(SEALED_PREFIX) + "==")  # nonce + ciphertext, base64
    assert box.unseal(sealed, context="wep_1") == SECRET
    assert SecretBox(KEY).unseal(sealed, context="wep_1") == SECRET  # another process with the same key


def test_each_seal_is_new_so_equal_secrets_do_not_look_equal() -> None:
    box = SecretBox(KEY)
    assert box.seal(SECRET) != box.seal(SECRET)


def test_a_url_safe_key_is_the_same_key() -> None:
    url_safe = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
    assert SecretBox(url_safe).unseal(SecretBox(KEY).seal(SECRET)) == SECRET


def test_without_a_key_secrets_are_stored_as_they_are() -> None:
    box = SecretBox(None)
    assert not box.sealing
    assert box.seal(SECRET) == SECRET
    assert box.unseal(SECRET) == SECRET


def test_a_secret_stored_before_the_key_was_set_is_still_read() -> None:
    assert SecretBox(KEY).unseal(SECRET) == SECRET


@pytest.mark.parametrize(
    ("reader", "context", "message"),
    [
        (SecretBox(None), "wep_1", "no webhook_secret_key is configured"),
        (SecretBox(OTHER_KEY), "wep_1", "does not open with the configured webhook_secret_key"),
        (SecretBox(KEY), "wep_2", "does not open"),  # copied onto another endpoint's row
    ],
)
def test_a_sealed_secret_does_not_open_without_its_key_and_context(
    reader: SecretBox, context: str, message: str
) -> None:
    sealed = SecretBox(KEY).seal(SECRET, context="wep_1")
    with pytest.raises(WebhookSecretUnreadableError, match=message) as caught:
        reader.unseal(sealed, context=context)
    error = caught.value
    assert (error.status_code, error.code) == (500, "WEBHOOK_SECRET_UNREADABLE")
    assert SECRET not in str(error) + repr(error.extra)
    assert KEY not in str(error) and OTHER_KEY not in str(error)
    assert error.__cause__ is None  # nothing of the ciphertext or the key travels in a chained exception


@pytest.mark.parametrize("damage", ["", "!!!", "AAAA", "flip"])
def test_a_damaged_sealed_value_is_refused(damage: str) -> None:
    box = SecretBox(KEY)
    sealed = box.seal(SECRET)
    stored = (
        SEALED_PREFIX + damage if damage != "flip" else sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    )
    with pytest.raises(WebhookSecretUnreadableError):
        box.unseal(stored)


def test_sealing_twice_is_refused() -> None:
    box = SecretBox(KEY)
    with pytest.raises(ValueError, match="already sealed"):
        box.seal(box.seal(SECRET))


def test_a_key_that_is_not_32_bytes_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SecretBox(base64.b64encode(b"too short").decode())


def test_start_up_warns_once_without_a_key_and_never_with_one(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="litestar_payguard")
    box = SecretBox(None)
    assert box.log_plaintext_warning() is True
    assert box.log_plaintext_warning() is False
    assert SecretBox(KEY).log_plaintext_warning() is False
    warnings = [record for record in caplog.records if "webhook_secret_key is not set" in record.getMessage()]
    assert len(warnings) == 1
    assert "stored in the database as they are" in warnings[0].getMessage()


PINNED_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
PINNED_ENDPOINT = "8f2c5d0e-0000-4000-8000-000000000001"
PINNED = "enc:v1:P7Fo6LXTgZbWgf-QKZHcN02g9P3lZeuShfj-1scmO0o03ZqwUT-Ktg"
"""``whsec_pinned`` sealed for ``PINNED_ENDPOINT`` by the SecretBox of 0.2.0, before the shared sealing core."""


def test_a_secret_sealed_by_an_earlier_version_still_opens() -> None:
    assert SecretBox(PINNED_KEY).unseal(PINNED, context=PINNED_ENDPOINT) == "whsec_pinned"
