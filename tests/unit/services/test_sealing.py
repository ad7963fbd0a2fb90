"""The sealing core: one key, a separate AES key per purpose, each value bound to its context."""

from __future__ import annotations

import base64

import pytest

from litestar_payguard.services.sealing import SealedValueError, Sealer, sealer

KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
ANOTHER = base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()


def _box(key: str | None = KEY, purpose: bytes = b"one purpose") -> Sealer:
    return Sealer(key, purpose=purpose, aad=b"aad:")


def test_a_value_opens_with_its_key_purpose_and_context_only() -> None:
    sealed = _box().seal(b"the value", "row-1")

    assert b"the value" not in sealed
    assert _box().open(sealed, "row-1") == b"the value"
    for box, context in ((_box(), "row-2"), (_box(ANOTHER), "row-1"), (_box(purpose=b"another"), "row-1")):
        with pytest.raises(SealedValueError):
            box.open(sealed, context)


def test_each_seal_has_its_own_nonce() -> None:
    assert _box().seal(b"v", "c") != _box().seal(b"v", "c")


def test_damaged_or_short_values_and_a_missing_key_are_refused_without_the_value() -> None:
    sealed = _box().seal(b"secret value", "c")
    damaged = sealed[:-1] + bytes([sealed[-1] ^ 1])
    for value in (damaged, sealed[:20], b""):
        with pytest.raises(SealedValueError) as refused:
            _box().open(value, "c")
        assert "secret value" not in str(refused.value)
    with pytest.raises(SealedValueError):
        _box(None).open(sealed, "c")
    with pytest.raises(SealedValueError):
        _box(None).seal(b"v", "c")
    assert not _box(None).sealing


def test_the_sealer_for_a_key_and_purpose_is_derived_once() -> None:
    assert sealer(KEY, purpose=b"p", aad=b"a") is sealer(KEY, purpose=b"p", aad=b"a")
    assert sealer(KEY, purpose=b"p", aad=b"a") is not sealer(KEY, purpose=b"q", aad=b"a")
