"""The fake Razorpay's records: order, payment and refund entities in Razorpay's shapes, and its refusals.

Nothing here locks: :class:`Records` is guarded by the fake's lock, which its callers hold.
"""

from __future__ import annotations

import copy
import secrets
import string
import time
from collections.abc import Sequence
from typing import Any, Final

__all__ = (
    "SERVER_ERROR",
    "Json",
    "Records",
    "RefusedError",
    "collection",
    "error_body",
    "new_id",
    "notes_of",
    "order_record",
    "refund_record",
    "token",
)

Json = dict[str, Any]
SERVER_ERROR: Final = "The server encountered an error. The incident has been reported to admins."
"""The description of Razorpay's 5xx answers."""

_ID_CHARS: Final = string.ascii_letters + string.digits


class RefusedError(ValueError):
    """Razorpay's 4xx answer: ``{"error": {"code": …, "description": …}}``."""

    def __init__(self, description: str, status: int = 400, code: str = "BAD_REQUEST_ERROR") -> None:
        super().__init__(description)
        self.status = status
        self.body = error_body(code, description)


def error_body(code: str, description: str) -> Json:
    """Razorpay's error answer body."""
    return {
        "error": {
            "code": code,
            "description": description,
            "source": "NA",
            "step": "NA",
            "reason": "NA",
            "metadata": {},
        }
    }


def notes_of(data: Json) -> Json | list[Any]:
    """A request's ``notes`` as Razorpay accepts them: up to 15 pairs of at most 256 characters each."""
    notes = data.get("notes") or []
    if not isinstance(notes, dict | list):
        raise RefusedError("The notes must be an array.")
    if isinstance(notes, dict):
        if len(notes) > 15:  # Razorpay's limit
            raise RefusedError("Number of fields in notes should be less than or equal to 15")
        if any(not isinstance(value, str | int | float) or len(str(value)) > 256 for value in notes.values()):
            raise RefusedError("The notes value may not be greater than 256 characters.")
    return notes


def token() -> str:
    """14 random letters and digits, the shape of Razorpay's ids."""
    return "".join(secrets.choice(_ID_CHARS) for _ in range(14))


def new_id(prefix: str) -> str:
    """A new Razorpay id such as ``order_…``, ``pay_…`` or ``rfnd_…``."""
    return f"{prefix}_{token()}"


def collection(items: Sequence[Json]) -> Json:
    """Razorpay's list answer, holding copies of ``items``."""
    return {"entity": "collection", "count": len(items), "items": copy.deepcopy(list(items))}


def order_record(amount: int, currency: str, receipt: str | None, notes: Json | list[Any]) -> Json:
    """A new order entity, not paid yet."""
    return {
        "id": new_id("order"),
        "entity": "order",
        "amount": amount,
        "amount_paid": 0,
        "amount_due": amount,
        "currency": currency,
        "receipt": receipt,
        "offer_id": None,
        "status": "created",
        "attempts": 0,
        # Razorpay answers empty notes as a JSON array, a PHP heritage clients must cope with.
        "notes": notes,
        "created_at": int(time.time()),
    }


def refund_record(payment: Json, amount: int, data: Json, *, pending: bool) -> Json:
    """A new refund entity of ``payment``, as asked by the request ``data``."""
    speed = data.get("speed", "normal")
    notes = notes_of(data)
    return {
        "id": new_id("rfnd"),
        "entity": "refund",
        "amount": amount,
        "currency": payment["currency"],
        "payment_id": payment["id"],
        "notes": notes,
        "receipt": data.get("receipt"),
        "acquirer_data": {"arn": None},
        "created_at": int(time.time()),
        "batch_id": None,
        "status": "pending" if pending else "processed",
        "speed_processed": speed,
        "speed_requested": speed,
    }


def _payment_record(order: Json, *, method: str, status: str, email: str | None, contact: str | None) -> Json:
    return {
        "id": new_id("pay"),
        "entity": "payment",
        "amount": order["amount"],
        "currency": order["currency"],
        "status": status,
        "order_id": order["id"],
        "invoice_id": None,
        "international": False,
        "method": method,
        "amount_refunded": 0,
        "refund_status": None,
        "captured": False,
        "description": None,
        "vpa": None,
        "email": email or "void@razorpay.com",
        "contact": contact or "+919000090000",
        "notes": [],
        "fee": None,
        "tax": None,
        "error_code": None,
        "error_description": None,
        "error_source": None,
        "error_step": None,
        "error_reason": None,
        "created_at": int(time.time()),
    }


class Records:
    """Every order, payment and refund the fake holds, and the captures that moved money.

    Attributes:
        orders: Order entities by id.
        payments: Payment entities by id, oldest first.
        refunds: Refund entities by id, oldest first.
        listed_at: ``time.monotonic()`` from which a refund shows in its payment's list of refunds.
        captures: Captures that moved money, by order id.
    """

    __slots__ = ("captures", "listed_at", "orders", "payments", "refunds")

    def __init__(self) -> None:
        self.orders: dict[str, Json] = {}
        self.payments: dict[str, Json] = {}
        self.refunds: dict[str, Json] = {}
        self.listed_at: dict[str, float] = {}
        self.captures: dict[str, int] = {}

    def order(self, order_id: str) -> Json:
        """The order entity itself (not a copy); an unknown id is Razorpay's refusal."""
        if order_id not in self.orders:
            raise RefusedError("The id provided does not exist")
        return self.orders[order_id]

    def payment(self, payment_id: str) -> Json:
        """The payment entity itself (not a copy); an unknown id is Razorpay's refusal."""
        if payment_id not in self.payments:
            raise RefusedError("The id provided does not exist")
        return self.payments[payment_id]

    def refund(self, refund_id: str) -> Json:
        """The refund entity itself (not a copy); an unknown id is Razorpay's refusal."""
        if refund_id not in self.refunds:
            raise RefusedError("The id provided does not exist")
        return self.refunds[refund_id]

    def payments_of(self, order_id: str) -> list[Json]:
        """The order's payments, newest first."""
        return [payment for payment in reversed(self.payments.values()) if payment["order_id"] == order_id]

    def refunds_of(self, payment_id: str, *, listed_only: bool = True) -> list[Json]:
        """The payment's refunds, newest first; ``listed_only``: those its list shows already."""
        now = time.monotonic()
        return [
            refund
            for refund in reversed(self.refunds.values())
            if refund["payment_id"] == payment_id and (not listed_only or self.listed_at.get(refund["id"], 0.0) <= now)
        ]

    def add_refund(self, refund: Json, *, listed_after: float) -> None:
        """Keep a new refund; it shows in its payment's list ``listed_after`` seconds from now."""
        self.refunds[refund["id"]] = refund
        self.listed_at[refund["id"]] = time.monotonic() + listed_after

    def captures_by_receipt(self) -> dict[str, int]:
        """Captures that moved money by order receipt, orders without one too."""
        counts: dict[str, int] = {}
        for order in self.orders.values():
            receipt = str(order["receipt"])
            counts[receipt] = counts.get(receipt, 0) + self.captures.get(order["id"], 0)
        return counts

    @staticmethod
    def refuse_paid(order: Json) -> None:
        """Refuse a new payment of a paid order, as Razorpay does."""
        if order["status"] == "paid":
            raise RefusedError("This order has already been paid")

    def new_payment(self, order: Json, *, method: str, status: str, email: str | None, contact: str | None) -> Json:
        """Keep a new payment attempt of ``order`` and return it."""
        order["attempts"] += 1
        order["status"] = "attempted"
        payment = _payment_record(order, method=method, status=status, email=email, contact=contact)
        self.payments[payment["id"]] = payment
        return payment

    def settle(self, payment: Json, status: str) -> None:
        """Move a payment to ``status``; a capture passes through ``authorized`` and pays its order."""
        if status == "captured" and payment["status"] != "authorized":
            self.settle(payment, "authorized")
        payment["status"] = status
        if status == "failed":
            payment.update(
                error_code="BAD_REQUEST_ERROR",
                error_description="Payment failed",
                error_source="customer",
                error_step="payment_authorization",
                error_reason="payment_failed",
            )
        elif status == "captured":
            payment["captured"] = True
            order = self.orders[payment["order_id"]]
            order.update(amount_paid=payment["amount"], amount_due=0, status="paid")
            self.captures[order["id"]] = self.captures.get(order["id"], 0) + 1

    @staticmethod
    def add_refunded(payment: Json, amount: int) -> None:
        """Count ``amount`` (negative: given back) as refunded of ``payment``."""
        payment["amount_refunded"] += amount
        refunded = payment["amount_refunded"]
        full = refunded == payment["amount"]
        payment["refund_status"] = None if refunded == 0 else "full" if full else "partial"
        payment["status"] = "refunded" if full else "captured"
