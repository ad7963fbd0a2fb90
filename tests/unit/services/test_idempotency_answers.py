"""Stored idempotency answers: sealed with a key, stored as they are without one, never taken for what they are not."""

from __future__ import annotations

import base64
import uuid

import pytest

from litestar_payguard import PayGuardConfig
from litestar_payguard.services.idempotency import IdempotencyReplayUnreadableError
from litestar_payguard.services.idempotency.answers import SEALED_ANSWER_PREFIX, open_answer, seal_answer

KEY = base64.b64encode(bytes(range(32))).decode()
RECORD = uuid.uuid4()


def _config(key: str | None) -> PayGuardConfig:
    return PayGuardConfig(queue_url="redis://localhost:6379/0", webhook_secret_key=key)


@pytest.mark.parametrize(
    "body",
    [
        b'{"secret": "whsec_x"}',
        b"",
        b"\x00binary",
        SEALED_ANSWER_PREFIX + b"looks sealed, is not",
        b"\x00payguard:plain:x",
    ],
)
def test_without_a_key_every_body_replays_as_it_was_even_one_that_looks_sealed(body: bytes) -> None:
    config = _config(None)
    stored = seal_answer(config, RECORD, body)

    assert open_answer(config, RECORD, stored) == body
    assert open_answer(_config(KEY), RECORD, stored) == body  # and once a key is set
    if not body.startswith(b"\x00"):
        assert stored == body  # stored as it is: what the docs say without a key


@pytest.mark.parametrize("body", [b'{"secret": "whsec_x"}', b"", b"\x00binary", SEALED_ANSWER_PREFIX + b"x"])
def test_with_a_key_every_body_is_sealed_for_its_record(body: bytes) -> None:
    config = _config(KEY)
    stored = seal_answer(config, RECORD, body)

    assert stored.startswith(SEALED_ANSWER_PREFIX)
    assert open_answer(config, RECORD, stored) == body
    for other in (_config(None), _config(base64.b64encode(bytes(range(1, 33))).decode())):
        with pytest.raises(IdempotencyReplayUnreadableError):
            open_answer(other, RECORD, stored)
    with pytest.raises(IdempotencyReplayUnreadableError):
        open_answer(config, uuid.uuid4(), stored)  # copied onto another key's record
