"""ISO 4217 currencies payguard accepts: those with a defined minor unit (no funds, metals or test codes)."""

from __future__ import annotations

from iso4217 import Currency

from litestar_payguard.exceptions import InvalidRequestError

__all__ = ("CURRENCY_PATTERN", "UnsupportedCurrencyError", "minor_unit_digits", "normalize_currency")


class UnsupportedCurrencyError(InvalidRequestError):
    """The currency is not an ISO 4217 currency with minor units."""

    code = "UNSUPPORTED_CURRENCY"
    title = "Unsupported currency"


def _any_case(code: str) -> str:
    return "".join(f"[{letter}{letter.lower()}]" for letter in code)


CURRENCY_PATTERN = "^(" + "|".join(sorted(_any_case(c.code) for c in Currency if c.exponent is not None)) + ")$(?!\\n)"
"""The codes :func:`normalize_currency` accepts, in any case, as a regular expression matching the whole value (for
the OpenAPI document)."""


def minor_unit_digits(code: str) -> int | None:
    """Return the number of minor-unit digits of a currency, ``None`` if it is not a payable currency."""
    try:
        exponent: int | None = Currency(code.upper()).exponent
    except ValueError:
        return None
    return exponent


def normalize_currency(code: str) -> str:
    """Return the upper-case ISO 4217 code.

    Raises:
        UnsupportedCurrencyError: The code names no payable currency.
    """
    if minor_unit_digits(code) is None:
        msg = f"{code!r} is not a supported ISO 4217 currency code."
        raise UnsupportedCurrencyError(msg, extra={"field": "currency"})
    return code.upper()
