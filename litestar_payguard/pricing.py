"""Server-side prices: what the host's pricing hook answers, and that hook bound to one request."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar_payguard.currencies import minor_unit_digits

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection

__all__ = ("Price", "Pricer", "PricingHook", "bind_pricer")


@dataclass(frozen=True, slots=True)
class Price:
    """What a bundle costs, as the host's catalogue says.

    Raises:
        ValueError: The amount is not a positive integer or the currency is no ISO 4217 currency with minor
            units: a catalogue mistake must fail loudly in the host's hook, never become a payment.
    """

    amount: int
    """Minor units (cents, paise)."""
    currency: str
    """ISO 4217 code, any case; kept upper-case, as payments store it, so a host comparing a payment with its
    price compares like with like."""
    display_name: str | None = None
    """The session's plan name: what the customer is charged for, whatever plan name the client sent (which
    only asked the hook). Without one, the client's plan name is kept."""

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount <= 0:
            msg = f"Price.amount must be a positive integer of minor units, got {self.amount!r}"
            raise ValueError(msg)
        if not isinstance(self.currency, str) or minor_unit_digits(self.currency) is None:
            msg = f"Price.currency must be an ISO 4217 code with minor units, got {self.currency!r}"
            raise ValueError(msg)
        object.__setattr__(self, "currency", self.currency.upper())  # frozen: the one normalisation, at birth


PricingHook = Callable[
    [str, "str | None", "ASGIConnection[Any, Any, Any, Any]"], "Price | Awaitable[Price | None] | None"
]
"""The host's prices: called with the bundle id, the plan name the customer chose (or ``None``) and the request
(for the host's own auth, region, A/B prices…); returns the :class:`Price`, or ``None`` for a bundle the host
does not sell. May be a coroutine function."""

Pricer = Callable[[str, "str | None"], Awaitable["Price | None"]]
"""The pricing hook bound to one request: what the session service asks for a bundle's price."""


def bind_pricer(hook: PricingHook | None, connection: ASGIConnection[Any, Any, Any, Any]) -> Pricer | None:
    """Bind the host's pricing hook to a request, so that services can ask for prices without knowing about HTTP.

    Returns:
        ``None`` when the host configured no hook.
    """
    if hook is None:
        return None

    async def price(bundle_id: str, plan_name: str | None) -> Price | None:
        answer = hook(bundle_id, plan_name, connection)
        if answer is None or isinstance(answer, Price):
            return answer
        return await answer

    return price
