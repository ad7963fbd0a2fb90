"""Test and live gateways: which adapter may be which, checked when the configuration is built."""

from __future__ import annotations

import re

import pytest

from litestar_payguard import ImproperConfigurationError, PayGuardConfig, RazorpayGateway, SimulatedGateway

LIVE = RazorpayGateway("rzp_live_Shop", "secret", "hook")
TEST = RazorpayGateway("rzp_test_Shop", "secret", "hook")


class _Unflagged(SimulatedGateway):
    """An adapter written before gateways said whether they move money."""

    live = None  # type: ignore[assignment]


def test_razorpay_is_live_unless_its_key_is_a_test_key() -> None:
    assert (LIVE.live, TEST.live, SimulatedGateway().live) == (True, False, False)
    assert RazorpayGateway("key_of_some_other_kind", "secret", "hook").live  # not known to be test: live


def test_test_only_is_the_default_and_each_gateway_goes_where_it_belongs() -> None:
    default = PayGuardConfig(queue_url="redis://x")
    both = PayGuardConfig(queue_url="redis://x", test_gateway=TEST, live_gateway=LIVE)

    assert (isinstance(default.test_gateway, SimulatedGateway), default.live_gateway) == (True, None)
    assert (both.test_gateway, both.live_gateway) == (TEST, LIVE)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"test_gateway": LIVE}, "test_gateway (razorpay) moves real money"),
        ({"live_gateway": TEST}, "live_gateway (razorpay) moves no real money"),
        ({"live_gateway": SimulatedGateway()}, "live_gateway (simulated) moves no real money"),
        ({"test_gateway": _Unflagged()}, "has no boolean `live` attribute"),
    ],
)
def test_a_gateway_in_the_wrong_place_refuses_to_start(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ImproperConfigurationError, match=re.escape(message)):
        PayGuardConfig(queue_url="redis://x", **settings)  # type: ignore[arg-type]
