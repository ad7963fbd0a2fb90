"""Prices: a catalogue mistake fails in the host's hook instead of becoming a payment."""

from __future__ import annotations

import pytest

from litestar_payguard import Price


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(0, "USD"), (-100, "USD"), (True, "USD"), (19.99, "USD"), ("1999", "USD"), (1999, "ZZZ"), (1999, "XAU")],
)
def test_a_price_that_cannot_be_charged_is_refused_when_made(amount: object, currency: str) -> None:
    with pytest.raises(ValueError, match=r"Price\.(amount|currency)"):
        Price(amount=amount, currency=currency)  # type: ignore[arg-type]


def test_a_price_is_minor_units_and_a_currency_in_any_case_kept_upper_case() -> None:
    price = Price(amount=1999, currency="eur", display_name="Pro")
    assert (price.amount, price.currency, price.display_name) == (1999, "EUR", "Pro")
