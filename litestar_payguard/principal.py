"""Who a request acts for."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from litestar_payguard.exceptions import AuthenticationError, CustomerRequiredError

__all__ = ("Principal",)


@dataclass(frozen=True, slots=True)
class Principal:
    """A merchant, and the customer of that merchant when the request has one.

    A principal sees only its own rows: the merchant's, and among those the customer's.
    """

    merchant_id: UUID
    customer_id: str | None = None

    @staticmethod
    def acting(owner: Principal | None, default: Principal | None) -> Principal:
        """The principal a service acts for: the one given to the call, else the one it was made for.

        Raises:
            AuthenticationError: Neither is known.
        """
        acting = owner or default
        if acting is None:
            msg = "No principal: pass owner= or use the service injected for a request."
            raise AuthenticationError(msg)
        return acting

    def require_customer(self) -> str:
        """Return the customer id.

        Raises:
            CustomerRequiredError: The request identifies no customer.
        """
        if self.customer_id is None:
            msg = "This operation needs a signed-in customer."
            raise CustomerRequiredError(msg, extra={"reason": "customer_required"})
        return self.customer_id
