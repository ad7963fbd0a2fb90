"""The outbound webhook settings of PayGuardConfig: defaults, ranges and their environment variables."""

from __future__ import annotations

import base64

import pytest

from litestar_payguard import ImproperConfigurationError, PayGuardConfig

KEY = base64.b64encode(bytes(range(32))).decode()


def test_defaults_follow_the_issue() -> None:
    config = PayGuardConfig(queue_url="redis://x")
    assert config.webhook_allowed_networks == ()
    assert config.webhook_secret_key is None
    assert config.webhook_timeout_seconds == 15
    assert config.webhook_retry_schedule_seconds == (60, 300, 1800, 7200)
    assert config.webhook_test_retry_schedule_seconds == (5, 10, 15, 20)
    assert config.webhook_retry_jitter == 0.2
    assert config.webhook_max_in_flight_per_endpoint == 5
    assert config.webhook_disable_after_seconds == 5 * 86_400
    assert config.webhook_sweep_seconds == 2  # the issue leaves it open; the fan-out waits for it
    assert config.event_retention_days == 30
    assert config.webhook_max_body_bytes == 20_000


def test_every_webhook_setting_comes_from_its_variable() -> None:
    config = PayGuardConfig(queue_url="redis://x").with_env(
        {
            "PAYGUARD_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8, ::1/128",
            "PAYGUARD_WEBHOOK_SECRET_KEY": KEY,
            "PAYGUARD_WEBHOOK_TIMEOUT_SECONDS": "2.5",
            "PAYGUARD_WEBHOOK_RETRY_SCHEDULE_SECONDS": "1,2,3",
            "PAYGUARD_WEBHOOK_TEST_RETRY_SCHEDULE_SECONDS": "0.5",
            "PAYGUARD_WEBHOOK_RETRY_JITTER": "0",
            "PAYGUARD_WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT": "2",
            "PAYGUARD_WEBHOOK_DISABLE_AFTER_SECONDS": "60",
            "PAYGUARD_WEBHOOK_SWEEP_SECONDS": "1",
            "PAYGUARD_EVENT_RETENTION_DAYS": "7",
            "PAYGUARD_WEBHOOK_MAX_BODY_BYTES": "4096",
        }
    )
    assert config.webhook_allowed_networks == ("127.0.0.0/8", "::1/128")
    assert config.webhook_secret_key == KEY
    assert config.webhook_timeout_seconds == 2.5
    assert config.webhook_retry_schedule_seconds == (1.0, 2.0, 3.0)
    assert config.webhook_test_retry_schedule_seconds == (0.5,)
    assert config.webhook_retry_jitter == 0
    assert (config.webhook_max_in_flight_per_endpoint, config.event_retention_days) == (2, 7)
    assert (config.webhook_disable_after_seconds, config.webhook_sweep_seconds) == (60, 1)
    assert config.webhook_max_body_bytes == 4096


def test_an_empty_list_variable_means_none() -> None:
    config = PayGuardConfig(queue_url="redis://x").with_env(
        {"PAYGUARD_WEBHOOK_ALLOWED_NETWORKS": "", "PAYGUARD_WEBHOOK_RETRY_SCHEDULE_SECONDS": " "}
    )
    assert (config.webhook_allowed_networks, config.webhook_retry_schedule_seconds) == ((), ())


def test_a_schedule_that_does_not_parse_names_its_variable() -> None:
    with pytest.raises(ImproperConfigurationError, match=r"PAYGUARD_WEBHOOK_RETRY_SCHEDULE_SECONDS.*list of numbers"):
        PayGuardConfig(queue_url="redis://x").with_env({"PAYGUARD_WEBHOOK_RETRY_SCHEDULE_SECONDS": "60,5m"})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"webhook_allowed_networks": ("10.0.0.0/33",)}, "not a network in CIDR form"),
        ({"webhook_allowed_networks": ("127.0.0.1/8",)}, "has host bits set"),
        ({"webhook_allowed_networks": ("localhost",)}, "not a network"),
        ({"webhook_allowed_networks": "127.0.0.0/8"}, "must be a tuple"),
        ({"webhook_timeout_seconds": 0}, r"webhook_timeout_seconds must be in \(0, 300\]"),
        ({"webhook_timeout_seconds": 301}, "webhook_timeout_seconds"),
        ({"webhook_retry_schedule_seconds": (60, 0)}, "positive finite"),
        ({"webhook_test_retry_schedule_seconds": (float("nan"),)}, "positive finite"),
        ({"webhook_retry_schedule_seconds": (1.0,) * 21}, "at most 20"),
        ({"webhook_retry_jitter": 1.0}, "below 1"),
        ({"webhook_retry_jitter": -0.1}, "at least 0"),
        ({"webhook_max_in_flight_per_endpoint": 0}, "at least 1"),
        ({"event_retention_days": 0}, "event_retention_days must be at least 1"),
        ({"webhook_disable_after_seconds": 0}, "must be positive"),
        ({"webhook_sweep_seconds": -1}, "webhook_sweep_seconds must be positive"),
        ({"webhook_max_body_bytes": 100}, "thin payload"),
        ({"webhook_secret_key": "not base64!"}, "not base64"),
        ({"webhook_secret_key": base64.b64encode(b"short").decode()}, "32 bytes once decoded, got 5"),
    ],
)
def test_impossible_webhook_settings_are_refused_with_a_reason(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ImproperConfigurationError, match=message):
        PayGuardConfig(queue_url="redis://x", **settings)  # type: ignore[arg-type]


def test_a_malformed_key_is_refused_without_repeating_it() -> None:
    secret = "hunter2-the-merchants-master-key"
    with pytest.raises(ImproperConfigurationError) as caught:
        PayGuardConfig(queue_url="redis://x", webhook_secret_key=secret)
    assert secret not in str(caught.value)


def test_a_url_safe_key_without_padding_is_accepted_and_never_shown() -> None:
    url_safe = base64.urlsafe_b64encode(bytes([251] * 32)).decode().rstrip("=")
    config = PayGuardConfig(queue_url="redis://x", webhook_secret_key=url_safe)
    assert url_safe not in repr(config)
