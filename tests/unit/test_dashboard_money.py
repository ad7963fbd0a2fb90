"""The dashboard shows amounts in their currency's minor units."""

from __future__ import annotations

import pytest

from litestar_payguard.pages import money


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (900, "USD", "9.00 USD"),
        (123_456_789, "INR", "1,234,567.89 INR"),
        (1234, "JPY", "1,234 JPY"),
        (1234, "KWD", "1.234 KWD"),
        (5, "EUR", "0.05 EUR"),
        (-250, "USD", "-2.50 USD"),
        (None, "USD", ""),
    ],
)
def test_an_amount_in_minor_units_is_shown_as_its_currency_does(amount: int | None, currency: str, shown: str) -> None:
    assert money(amount, currency) == shown
