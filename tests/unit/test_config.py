"""PayGuardConfig: validation, defaults and environment overrides."""

from __future__ import annotations

import pytest

from litestar_payguard import ImproperConfigurationError, PayGuardConfig


def test_defaults_follow_the_design() -> None:
    config = PayGuardConfig(queue_url="redis://localhost")
    assert (config.attempt_timeout_seconds, config.max_attempts, config.retry_delay_seconds) == (30.0, 3, 2.0)
    assert (config.session_expiry_seconds, config.session_cleanup_cron, config.poll_interval_ms) == (
        900.0,
        "*/5 * * * *",
        2000,
    )
    assert config.worker_concurrency == 5
    assert config.path == "/payguard"
    assert (config.stale_pending_seconds, config.stale_cleanup_cron, config.stale_cleanup_alert_threshold) == (
        1800.0,
        "*/15 * * * *",
        10,
    )
    assert config.gateway_webhook_max_age_seconds == 72 * 3600  # above Razorpay's 24 h of retries


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"queue_url": "redis://x", "queue": object()},
        {"queue_url": "redis://x", "path": "payguard"},
        {"queue_url": "redis://x", "path": "/payguard/"},
        {"queue_url": "redis://x", "max_attempts": 0},
        {"queue_url": "redis://x", "attempt_timeout_seconds": -1},
        {"queue_url": "redis://x", "retry_delay_seconds": -0.5},
        {"queue_url": "redis://x", "poll_interval_ms": 0},
        {"queue_url": "redis://x", "idempotency_key_ttl_seconds": 60, "idempotency_lock_timeout_seconds": 90},
        {"queue_url": "redis://x", "stale_cleanup_cron": "every 15 minutes"},
        {"queue_url": "redis://x", "session_cleanup_cron": "*/5 * * *"},
        {"queue_url": "redis://x", "stale_cleanup_batch_size": 0},
        {"queue_url": "redis://x", "stale_cleanup_alert_threshold": -1},
        {"queue_url": "redis://x", "worker_shutdown_grace_seconds": -1},
        {"queue_url": "redis://x", "pricing": lambda *_: None, "trust_client_prices": True},
        {"queue_url": "redis://x", "gateway_webhook_max_age_seconds": 0},
    ],
)
def test_impossible_configurations_fail_at_construction(settings: dict[str, object]) -> None:
    with pytest.raises(ImproperConfigurationError):
        PayGuardConfig(**settings)  # type: ignore[arg-type]


def test_policy_values_come_from_payguard_variables() -> None:
    config = PayGuardConfig(queue_url="redis://x").with_env(
        {
            "PAYGUARD_ATTEMPT_TIMEOUT_SECONDS": "45",
            "PAYGUARD_MAX_ATTEMPTS": "5",
            "PAYGUARD_RETRY_DELAY_SECONDS": "0.5",
            "PAYGUARD_SESSION_EXPIRY_SECONDS": "600",
            "PAYGUARD_SESSION_CLEANUP_CRON": "*/2 * * * *",
            "UNRELATED": "1",
        }
    )
    assert (config.attempt_timeout_seconds, config.max_attempts, config.retry_delay_seconds) == (45.0, 5, 0.5)
    assert (config.session_expiry_seconds, config.session_cleanup_cron) == (600.0, "*/2 * * * *")


def test_a_variable_that_does_not_parse_is_a_configuration_error() -> None:
    with pytest.raises(ImproperConfigurationError, match="PAYGUARD_MAX_ATTEMPTS"):
        PayGuardConfig(queue_url="redis://x").with_env({"PAYGUARD_MAX_ATTEMPTS": "three"})


def test_an_impossible_variable_is_refused_too() -> None:
    with pytest.raises(ImproperConfigurationError):
        PayGuardConfig(queue_url="redis://x").with_env({"PAYGUARD_MAX_ATTEMPTS": "0"})


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_non_finite_numbers_are_refused(value: str) -> None:
    with pytest.raises(ImproperConfigurationError, match="finite"):
        PayGuardConfig(queue_url="redis://x").with_env({"PAYGUARD_ATTEMPT_TIMEOUT_SECONDS": value})
