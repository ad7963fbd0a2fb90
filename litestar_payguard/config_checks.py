"""The checks of a payguard configuration: each refuses, by name, a setting that cannot work.

They take the settings' values (by field name) rather than the configuration, which calls them in order when
it is made; every refusal is an :class:`ImproperConfigurationError`.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from croniter import croniter

from litestar_payguard.exceptions import ImproperConfigurationError

if TYPE_CHECKING:
    from saq import Queue

    from litestar_payguard.gateways import Gateway
    from litestar_payguard.pricing import PricingHook

__all__ = (
    "SECRET_KEY_BYTES",
    "check_bounds",
    "check_finite",
    "check_gateways",
    "check_jobs",
    "check_path",
    "check_pricing",
    "check_queue",
    "check_webhooks",
    "decode_secret_key",
    "parse_floats",
    "parse_strings",
)

SECRET_KEY_BYTES = 32
"""Length of ``webhook_secret_key`` once decoded from base64."""
_MAX_RETRIES = 20
_MAX_WEBHOOK_TIMEOUT_SECONDS = 300.0
_MIN_WEBHOOK_BODY_BYTES = 1024

_POSITIVE = (
    "attempt_timeout_seconds",
    "worker_heartbeat_seconds",
    "ready_max_lag_seconds",
    "session_expiry_seconds",
    "max_attempts",
    "max_amount",
    "idempotency_key_ttl_seconds",
    "idempotency_lock_timeout_seconds",
    "stale_pending_seconds",
    "payment_lease_seconds",
    "gateway_retry_seconds",
    "gateway_poll_seconds",
    "gateway_max_attempts",
    "gateway_webhook_max_age_seconds",
    "fulfilment_max_attempts",
)
_NOT_NEGATIVE = ("retry_delay_seconds", "fulfilment_retry_seconds", "worker_shutdown_grace_seconds")
_AT_LEAST_ONE = (
    "poll_interval_ms",
    "worker_concurrency",
    "session_cleanup_batch_size",
    "max_body_bytes",
    "idempotency_purge_batch_size",
    "stale_cleanup_batch_size",
    "reconcile_batch_size",
)
_CRONS = ("session_cleanup_cron", "stale_cleanup_cron", "idempotency_purge_cron", "reconcile_cron")


def _refuse(msg: str) -> NoReturn:
    raise ImproperConfigurationError(msg)


_ORIGIN = re.compile(
    r"https?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
    r"(:(6553[0-5]|655[0-2]\d|65[0-4]\d{2}|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}))?"
)
"""An ``http(s)`` origin: a scheme, a host name (ASCII, as browsers send it) or an IPv6 address, a port."""


def check_finite(policy: Mapping[str, Any]) -> None:
    """Refuse a policy value that is an infinite or not-a-number float."""
    for name, value in policy.items():
        if isinstance(value, float) and not math.isfinite(value):
            _refuse(f"PayGuardConfig.{name} must be a finite number, got {value!r}")


def check_path(path: str, public_url: str | None = None) -> None:
    """Refuse a route prefix that does not start with ``/`` or ends with one (other than ``/`` itself).

    Refuse a public URL that is not an ``http(s)`` origin too: a scheme, a host and a port, nothing more.
    """
    if not path.startswith("/") or (len(path) > 1 and path.endswith("/")):
        _refuse(f"PayGuardConfig.path must start with '/' and not end with one, got {path!r}")
    if public_url is not None and not _ORIGIN.fullmatch(public_url):
        _refuse(f"PayGuardConfig.public_url must be an origin like 'https://pay.example', got {public_url!r}")


def check_queue(queue_url: str | None, queue: Queue | None) -> None:
    """Refuse anything but exactly one of a queue URL and a queue."""
    if (queue_url is None) == (queue is None):
        _refuse("PayGuardConfig needs exactly one of queue_url ('redis://…' or 'postgres://…') and queue.")


def check_bounds(settings: Mapping[str, Any]) -> None:
    """Refuse a count, size or duration out of its range, and time windows that contradict each other."""
    for name in _POSITIVE:
        if settings[name] <= 0:
            _refuse(f"PayGuardConfig.{name} must be positive, got {settings[name]!r}")
    for name in _NOT_NEGATIVE:
        if settings[name] < 0:
            _refuse(f"PayGuardConfig.{name} must not be negative, got {settings[name]!r}")
    if settings["session_expiry_seconds"] > settings["stale_pending_seconds"]:
        _refuse(
            "PayGuardConfig.session_expiry_seconds must not exceed stale_pending_seconds: a payment must not go "
            "stale while its checkout session can still complete it."
        )
    if settings["idempotency_key_ttl_seconds"] <= settings["idempotency_lock_timeout_seconds"]:
        _refuse("PayGuardConfig.idempotency_key_ttl_seconds must be longer than idempotency_lock_timeout_seconds.")
    for name in _AT_LEAST_ONE:
        if settings[name] < 1:
            _refuse(f"PayGuardConfig.{name} must be at least 1, got {settings[name]!r}")


def check_jobs(settings: Mapping[str, Any]) -> None:
    """Refuse a negative cleanup alert threshold and a cron schedule that does not parse."""
    if settings["stale_cleanup_alert_threshold"] < 0:
        threshold = settings["stale_cleanup_alert_threshold"]
        _refuse(f"PayGuardConfig.stale_cleanup_alert_threshold must not be negative, got {threshold!r}")
    for name in _CRONS:
        if not croniter.is_valid(settings[name]):
            _refuse(f"PayGuardConfig.{name} is not a valid cron expression: {settings[name]!r}")


def check_gateways(test_gateway: Gateway, live_gateway: Gateway | None) -> None:
    """Refuse a test gateway that moves real money, and a live gateway that moves none."""
    if _is_live("test_gateway", test_gateway):
        _refuse(
            f"PayGuardConfig.test_gateway ({test_gateway.name}) moves real money (live keys): test-mode "
            "merchants must never reach a live gateway. Pass it as live_gateway, and test keys as test_gateway."
        )
    if live_gateway is not None and not _is_live("live_gateway", live_gateway):
        _refuse(
            f"PayGuardConfig.live_gateway ({live_gateway.name}) moves no real money (test keys, or a "
            "simulated gateway): live merchants would be paid with nothing captured. Pass it as test_gateway."
        )


def check_pricing(pricing: PricingHook | None, trust_client_prices: bool) -> None:
    """Refuse a pricing hook together with client-set prices."""
    if pricing is not None and trust_client_prices:
        _refuse(
            "PayGuardConfig.pricing and trust_client_prices exclude each other: with a pricing hook the server "
            "sets every customer price. Drop trust_client_prices."
        )


def parse_strings(raw: str) -> tuple[str, ...]:
    """Parse a comma-separated variable into its non-empty entries (``""`` is none)."""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def parse_floats(raw: str) -> tuple[float, ...]:
    """Parse a comma-separated variable of numbers (``"60,300"``); raises ``ValueError`` on any other entry."""
    return tuple(float(item) for item in parse_strings(raw))


def decode_secret_key(raw: str) -> bytes:
    """Decode ``webhook_secret_key`` (standard or URL-safe base64 of 32 bytes, padding optional).

    Raises:
        ValueError: Not base64, or not 32 bytes; the message never repeats the key.
    """
    text = raw.strip().replace("-", "+").replace("_", "/")
    try:
        key = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        msg = "webhook_secret_key is not base64"
        raise ValueError(msg) from None
    if len(key) != SECRET_KEY_BYTES:
        msg = f"webhook_secret_key must be {SECRET_KEY_BYTES} bytes once decoded, got {len(key)}"
        raise ValueError(msg)
    return key


def check_webhooks(settings: Mapping[str, Any]) -> None:
    """Refuse webhook settings out of range, an allow-list entry that is not a network, and a malformed key."""
    for name in ("webhook_allowed_networks", "webhook_retry_schedule_seconds", "webhook_test_retry_schedule_seconds"):
        if not isinstance(settings[name], tuple):
            _refuse(f"PayGuardConfig.{name} must be a tuple, got {type(settings[name]).__name__}")
    for entry in settings["webhook_allowed_networks"]:
        try:
            ipaddress.ip_network(entry, strict=True)
        except (TypeError, ValueError) as exc:
            _refuse(f"PayGuardConfig.webhook_allowed_networks: {entry!r} is not a network in CIDR form ({exc})")
    _check_schedules(settings)
    _check_webhook_numbers(settings)
    if settings["webhook_secret_key"] is not None:
        try:
            decode_secret_key(settings["webhook_secret_key"])
        except ValueError as exc:
            _refuse(f"PayGuardConfig.{exc}: give base64 of {SECRET_KEY_BYTES} random bytes (openssl rand -base64 32)")


def _check_schedules(settings: Mapping[str, Any]) -> None:
    for name in ("webhook_retry_schedule_seconds", "webhook_test_retry_schedule_seconds"):
        delays = settings[name]
        if len(delays) > _MAX_RETRIES:
            _refuse(f"PayGuardConfig.{name} has {len(delays)} retries; at most {_MAX_RETRIES}")
        for delay in delays:
            if isinstance(delay, bool) or not isinstance(delay, int | float) or not math.isfinite(delay) or delay <= 0:
                _refuse(f"PayGuardConfig.{name} must hold positive finite numbers of seconds, got {delay!r}")


def _check_webhook_numbers(settings: Mapping[str, Any]) -> None:
    timeout = settings["webhook_timeout_seconds"]
    if not 0 < timeout <= _MAX_WEBHOOK_TIMEOUT_SECONDS:
        _refuse(
            f"PayGuardConfig.webhook_timeout_seconds must be in (0, {_MAX_WEBHOOK_TIMEOUT_SECONDS:g}], got {timeout!r}"
        )
    if not 0 <= settings["webhook_retry_jitter"] < 1:
        jitter = settings["webhook_retry_jitter"]
        _refuse(f"PayGuardConfig.webhook_retry_jitter must be at least 0 and below 1 (a fraction), got {jitter!r}")
    for name in ("webhook_disable_after_seconds", "webhook_sweep_seconds"):
        if settings[name] <= 0:
            _refuse(f"PayGuardConfig.{name} must be positive, got {settings[name]!r}")
    for name in ("webhook_max_in_flight_per_endpoint", "event_retention_days"):
        if settings[name] < 1:
            _refuse(f"PayGuardConfig.{name} must be at least 1, got {settings[name]!r}")
    if settings["webhook_max_body_bytes"] < _MIN_WEBHOOK_BODY_BYTES:
        size = settings["webhook_max_body_bytes"]
        _refuse(
            f"PayGuardConfig.webhook_max_body_bytes must be at least {_MIN_WEBHOOK_BODY_BYTES}, got {size!r}: "
            "the thin payload sent instead of a larger body must fit"
        )


def _is_live(role: str, gateway: Gateway) -> bool:
    """The adapter's ``live`` flag; an adapter without one (written before test and live gateways) cannot be used."""
    live = getattr(gateway, "live", None)
    if not isinstance(live, bool):
        _refuse(
            f"PayGuardConfig.{role} ({type(gateway).__name__}) has no boolean `live` attribute: a gateway adapter "
            "must say whether it moves real money (Gateway.live)."
        )
    return live
