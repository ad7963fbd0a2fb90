"""The catalogue of event types: complete, examples that are what the outbox stores, filters."""

from __future__ import annotations

import msgspec
import pytest

from litestar_payguard.models import PaymentStatus, RefundStatus, SessionEventType
from litestar_payguard.schemas import Payment, Session
from litestar_payguard.schemas.merchant import Refund
from litestar_payguard.schemas.webhooks import WebhookEndpoint, WebhookTest
from litestar_payguard.services.webhooks import (
    ENDPOINT_DISABLED,
    EVENT_TYPES,
    TEST_EVENT,
    EventTypeInfo,
    EventTypeUnknownError,
    event_type_names,
    matches,
    validate_filters,
)

STRUCT_OF_PREFIX = {
    "payment": Payment,
    "refund": Refund,
    "session": Session,
    "webhook": WebhookTest,
    "webhook_endpoint": WebhookEndpoint,
}


def test_every_type_the_outbox_writers_emit_for_merchants_is_listed_once() -> None:
    names = event_type_names()
    assert len(names) == len(set(names))
    expected = {"payment.created", "payment.attention_required", "payment.attention_resolved"}
    expected |= {f"payment.{status.value}" for status in PaymentStatus if status is not PaymentStatus.PENDING}
    expected |= {f"refund.{change}" for change in ("created", "processed", "failed")}
    expected |= {f"session.{event.value}" for event in SessionEventType}
    expected |= {TEST_EVENT, ENDPOINT_DISABLED}
    assert set(names) == expected
    assert "payguard.cleanup.large" not in names  # the operator's, never a merchant's


@pytest.mark.parametrize("info", EVENT_TYPES, ids=lambda info: info.type)
def test_each_example_is_the_struct_its_writer_stores_and_encodes_as_the_outbox_does(info: EventTypeInfo) -> None:
    struct = STRUCT_OF_PREFIX[info.type.split(".", 1)[0]]
    assert type(info.example) is struct
    stored = msgspec.to_builtins(info.example)  # what Outbox.record puts in payguard_event.payload
    assert msgspec.convert(stored, struct) == info.example
    assert msgspec.json.decode(msgspec.json.encode(stored)) == stored
    assert info.description


def test_examples_agree_with_their_type() -> None:
    by_type = {info.type: info.example for info in EVENT_TYPES}
    assert isinstance(by_type["payment.succeeded"], Payment)
    assert by_type["payment.succeeded"].status is PaymentStatus.SUCCEEDED
    assert isinstance(by_type["refund.failed"], Refund)
    assert by_type["refund.failed"].status is RefundStatus.FAILED
    assert isinstance(by_type["payment.attention_required"], Payment)
    assert by_type["payment.attention_required"].needs_attention


@pytest.mark.parametrize(
    ("filters", "event_type", "expected"),
    [
        ([], "payment.succeeded", True),
        (["payment.succeeded"], "payment.succeeded", True),
        (["payment.succeeded"], "payment.failed", False),
        (["refund.*"], "refund.processed", True),
        (["refund.*"], "refunds.processed", False),
        (["refund.*"], "payment.refunded", False),
        (["webhook.*"], "webhook_endpoint.disabled", False),
        (["session.created", "refund.*"], "session.created", True),
    ],
)
def test_matches_exact_types_and_prefix_wildcards(filters: list[str], event_type: str, expected: bool) -> None:
    assert matches(filters, event_type) is expected


def test_valid_filters_come_back_without_duplicates_in_their_order() -> None:
    assert validate_filters(None) == []
    assert validate_filters(["refund.*", "payment.succeeded", "refund.*"]) == ["refund.*", "payment.succeeded"]


@pytest.mark.parametrize("entry", ["payment.settled", "payments.*", "payguard.cleanup.large", "nope.*"])
def test_unknown_filters_are_refused_listing_the_known_types(entry: str) -> None:
    with pytest.raises(EventTypeUnknownError) as caught:
        validate_filters(["payment.succeeded", entry])
    assert caught.value.status_code == 422
    assert caught.value.code == "WEBHOOK_EVENT_TYPE_UNKNOWN"
    assert caught.value.extra["unknown"] == [entry]
    assert caught.value.extra["knownTypes"] == sorted(event_type_names())
