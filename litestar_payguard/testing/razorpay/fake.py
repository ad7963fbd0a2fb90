"""The fake Razorpay itself: the API on a local server, with the controls tests drive it by."""

from __future__ import annotations

import copy
import json
import time
from types import TracebackType
from typing import Literal

from litestar_payguard.gateways.razorpay_webhooks import checkout_signature, webhook_signature
from litestar_payguard.testing.razorpay.api import ROUTE_KINDS, RazorpayApi
from litestar_payguard.testing.razorpay.entities import Json, RefusedError, token
from litestar_payguard.testing.razorpay.server import ServerThread

__all__ = ("FakeRazorpay",)


class FakeRazorpay(RazorpayApi):
    """A local Razorpay API server with test controls; all state is guarded by one lock.

    Args:
        key_id: The API key id clients must authenticate with.
        key_secret: The API key secret; also signs Checkout's payment signatures.
        webhook_secret: Signs the webhooks built by :meth:`webhook`.
        host: Interface to listen on.
        port: Port to listen on; ``0`` picks a free one.

    Attributes:
        delays: Seconds to hold a request of a route kind (see :data:`ROUTE_KINDS`) before handling it.
        response_delays: Seconds to hold the answer of a route kind after its change is made.
        refunds_pending: New refunds stay ``pending`` (until :meth:`settle_refund`) instead of ``processed``.
        refunds_listed_after: Seconds before a new refund shows in its payment's list of refunds (Razorpay's
            lists are eventually consistent; a retry must not rely on finding its first attempt there).
    """

    __slots__ = ("_serving", "host", "port", "webhook_secret")

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(key_id, key_secret)
        self.webhook_secret = webhook_secret
        self.host, self.port = host, port
        self._serving: ServerThread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL (``http://127.0.0.1:<port>``), once started."""
        if self._serving is None:
            msg = "FakeRazorpay is not running"
            raise RuntimeError(msg)
        return f"http://{self.host}:{self._serving.port}"

    def start(self) -> FakeRazorpay:
        """Start serving in a daemon thread."""
        if self._serving is not None:
            msg = "FakeRazorpay is already running"
            raise RuntimeError(msg)
        self._stopping.clear()
        self._serving = ServerThread(self.host, self.port, self.handle)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; held requests are released at once."""
        serving, self._serving = self._serving, None
        if serving is None:
            return
        self._stopping.set()
        serving.stop()

    def __enter__(self) -> FakeRazorpay:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- test controls --------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str]]:
        """Every request received so far, as ``(method, path)``."""
        with self._lock:
            return list(self._log)

    def fail_next(self, route_kind: str, status: int = 500, times: int = 1, *, after_change: bool = False) -> None:
        """Answer the next ``times`` requests of a route kind with a server error.

        With ``after_change`` the request is carried out first and only its answer is lost, like a gateway
        that charged and then failed to say so.
        """
        if route_kind not in ROUTE_KINDS:
            msg = f"unknown route kind {route_kind!r}; one of {', '.join(ROUTE_KINDS)}"
            raise ValueError(msg)
        with self._lock:
            self._failures.setdefault(route_kind, []).extend([(status, after_change)] * times)

    def pay(self, order_id: str, *, outcome: Literal["authorized", "failed", "captured"] = "authorized") -> str:
        """Pay an order as a customer in Checkout would; return the payment id.

        ``captured`` stands for an account with automatic capture (and counts as a capture).
        """
        if outcome not in {"authorized", "failed", "captured"}:
            msg = f"outcome must be authorized, failed or captured, not {outcome!r}"
            raise ValueError(msg)
        with self._lock:
            order = self._records.order(order_id)
            self._records.refuse_paid(order)
            payment = self._records.new_payment(order, method="card", status="authorized", email=None, contact=None)
            self._records.settle(payment, outcome)
            return str(payment["id"])

    def settle_payment(self, payment_id: str, outcome: Literal["authorized", "failed", "captured"]) -> None:
        """Finish a ``created`` payment (a UPI answered, say), or capture an ``authorized`` one (auto-capture)."""
        with self._lock:
            payment = self._records.payment(payment_id)
            allowed = payment["status"] == "created" or (payment["status"], outcome) == ("authorized", "captured")
            if not allowed:
                msg = f"payment {payment_id} is {payment['status']}: it cannot become {outcome}"
                raise ValueError(msg)
            self._records.settle(payment, outcome)

    def settle_refund(self, refund_id: str, status: Literal["processed", "failed"] = "processed") -> None:
        """Finish a ``pending`` refund; a failed one gives its amount back to the payment."""
        with self._lock:
            refund = self._records.refund(refund_id)
            if refund["status"] != "pending":
                msg = f"refund {refund_id} is {refund['status']}, not pending"
                raise ValueError(msg)
            refund["status"] = status
            if status == "failed":
                self._records.add_refunded(self._records.payments[refund["payment_id"]], -refund["amount"])

    def checkout_signature(self, order_id: str, payment_id: str) -> str:
        """The ``razorpay_signature`` Checkout would hand the browser for this payment."""
        return checkout_signature(self.key_secret, order_id, payment_id)

    def capture_count(self, order_id: str | None = None) -> int:
        """Captures that moved money, of one order or of all; a refused repeat does not count."""
        with self._lock:
            if order_id is not None:
                return self._records.captures.get(order_id, 0)
            return sum(self._records.captures.values())

    def captures_by_receipt(self) -> dict[str, int]:
        """Captures that moved money by order receipt (payguard's payment id), orders without one too."""
        with self._lock:
            return self._records.captures_by_receipt()

    def order(self, order_id: str) -> Json:
        """A copy of an order entity."""
        with self._lock:
            return copy.deepcopy(self._records.order(order_id))

    def payment(self, payment_id: str) -> Json:
        """A copy of a payment entity."""
        with self._lock:
            return copy.deepcopy(self._records.payment(payment_id))

    def payments(self, order_id: str) -> list[Json]:
        """Copies of an order's payment entities, newest first (as Razorpay lists them)."""
        with self._lock:
            return copy.deepcopy(self._records.payments_of(self._records.order(order_id)["id"]))

    def refunds(self, payment_id: str) -> list[Json]:
        """Copies of a payment's refund entities, newest first (those the API does not list yet too)."""
        with self._lock:
            return copy.deepcopy(self._records.refunds_of(self._records.payment(payment_id)["id"], listed_only=False))

    def webhook(
        self,
        event: str,
        payment_id: str | None = None,
        refund_id: str | None = None,
        *,
        created_at: int | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """Build a signed webhook about the current state of a payment or refund: ``(headers, raw body)``.

        ``created_at`` (Unix seconds, now by default) is the event's creation time, as Razorpay signs it.
        """
        payload = self._webhook_payload(event, payment_id, refund_id)
        envelope = {
            "entity": "event",
            "account_id": "acc_PayGuardFake001",
            "event": event,
            "contains": list(payload),
            "payload": payload,
            "created_at": int(time.time()) if created_at is None else created_at,
        }
        body = json.dumps(envelope, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Razorpay-Signature": webhook_signature(self.webhook_secret, body),
            "X-Razorpay-Event-Id": token(),
        }
        return headers, body

    def _webhook_payload(self, event: str, payment_id: str | None, refund_id: str | None) -> Json:
        """Copies of the refund, payment and (for ``order.*`` events) order a webhook is about."""
        with self._lock:
            payload: Json = {}
            if refund_id is not None:
                refund = self._records.refund(refund_id)
                payload["refund"] = {"entity": copy.deepcopy(refund)}
                payment_id = payment_id or refund["payment_id"]
            if payment_id is not None:
                payment = self._records.payment(payment_id)
                payload["payment"] = {"entity": copy.deepcopy(payment)}
                if event.startswith("order."):
                    payload["order"] = {"entity": copy.deepcopy(self._records.orders[payment["order_id"]])}
            if not payload:
                msg = "a webhook needs a payment_id or a refund_id"
                raise ValueError(msg)
            return payload

    # -- test controls over HTTP ----------------------------------------------------------------------------

    def _control(self, method: str, path: str, data: Json) -> Json:
        try:
            return self._control_route(method, path, data)
        except RefusedError:
            raise
        except ValueError as exc:
            raise RefusedError(str(exc)) from None

    def _control_route(self, method: str, path: str, data: Json) -> Json:
        if (method, path) == ("GET", "/_fake/captures"):
            return dict(self.captures_by_receipt())
        if (method, path) == ("POST", "/_fake/pay"):
            order_id = str(data.get("order_id"))
            payment_id = self.pay(order_id, outcome=data.get("outcome", "authorized"))
            return {
                "razorpay_payment_id": payment_id,
                "razorpay_order_id": order_id,
                "razorpay_signature": self.checkout_signature(order_id, payment_id),
            }
        if (method, path) == ("POST", "/_fake/webhook"):
            headers, body = self.webhook(str(data.get("event")), data.get("payment_id"), data.get("refund_id"))
            return {"headers": headers, "body": body.decode()}
        raise RefusedError("The requested URL was not found on the server.", status=404)
