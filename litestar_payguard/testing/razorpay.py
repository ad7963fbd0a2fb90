"""A fake Razorpay: the subset of its REST API payguard uses, over real HTTP, standard library only.

Use it in-process (``with FakeRazorpay(key_id, key_secret, webhook_secret) as fake: fake.url``) or as a
process of its own (``python -m litestar_payguard.testing.razorpay --port 8123``), which prints its URL and
serves until SIGINT or SIGTERM. Besides the API (HTTP Basic auth, Razorpay's entity and error shapes) it
offers test controls: a customer paying in Checkout (:meth:`FakeRazorpay.pay`), signed webhooks, injected
delays and 5xx answers, and a count of the captures that moved money, to assert "charged exactly once".

Out of process, the controls are HTTP routes without auth: ``GET /_fake/captures`` (captures by receipt),
``POST /_fake/pay`` (``{"order_id", "outcome"}`` → Checkout's ``razorpay_*`` handler fields) and
``POST /_fake/webhook`` (``{"event", "payment_id", "refund_id"}`` → ``{"headers", "body"}``).

Unlike Razorpay, the fake lets a second payment of a paid order be captured: it counts the capture, so a test
of "exactly one charge" sees the double charge instead of a refusal hiding it.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hmac
import json
import re
import secrets
import signal
import string
import sys
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from litestar_payguard.gateways.razorpay import checkout_signature, webhook_signature

__all__ = ("ROUTE_KINDS", "FakeRazorpay", "main")

ROUTE_KINDS: Final = (
    "create_order",
    "fetch_order",
    "order_payments",
    "create_payment",
    "fetch_payment",
    "capture",
    "refund",
    "payment_refunds",
    "fetch_refund",
)
"""Names of the API routes, for :attr:`FakeRazorpay.delays` and :meth:`FakeRazorpay.fail_next`."""

Json = dict[str, Any]
_ID_CHARS: Final = string.ascii_letters + string.digits
_METHODS: Final = frozenset({"card", "upi", "netbanking", "wallet"})
_VPA_OUTCOMES: Final = {"success@razorpay": "authorized", "failure@razorpay": "failed"}
_SERVER_ERROR: Final = "The server encountered an error. The incident has been reported to admins."


class _RefusedError(ValueError):
    """Razorpay's 4xx answer: ``{"error": {"code": …, "description": …}}``."""

    def __init__(self, description: str, status: int = 400, code: str = "BAD_REQUEST_ERROR") -> None:
        super().__init__(description)
        self.status = status
        self.body = _error(code, description)


def _notes(data: Json) -> Json | list[Any]:
    """A request's ``notes`` as Razorpay accepts them: up to 15 pairs of at most 256 characters each."""
    notes = data.get("notes") or []
    if not isinstance(notes, dict | list):
        raise _RefusedError("The notes must be an array.")
    if isinstance(notes, dict):
        if len(notes) > 15:  # Razorpay's limit
            raise _RefusedError("Number of fields in notes should be less than or equal to 15")
        if any(not isinstance(value, str | int | float) or len(str(value)) > 256 for value in notes.values()):
            raise _RefusedError("The notes value may not be greater than 256 characters.")
    return notes


def _error(code: str, description: str) -> Json:
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


def _token() -> str:
    """14 random letters and digits, the shape of Razorpay's ids."""
    return "".join(secrets.choice(_ID_CHARS) for _ in range(14))


def _new_id(prefix: str) -> str:
    return f"{prefix}_{_token()}"


def _collection(items: Sequence[Json]) -> Json:
    return {"entity": "collection", "count": len(items), "items": copy.deepcopy(list(items))}


class FakeRazorpay:
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

    __slots__ = (
        "_captures",
        "_failures",
        "_idempotent_refunds",
        "_listed_at",
        "_lock",
        "_log",
        "_orders",
        "_payments",
        "_refund_keys_in_flight",
        "_refunds",
        "_server",
        "_stopping",
        "_thread",
        "delays",
        "host",
        "key_id",
        "key_secret",
        "port",
        "refunds_listed_after",
        "refunds_pending",
        "response_delays",
        "webhook_secret",
    )

    def __init__(
        self,
        key_id: str,
        key_secret: str,
        webhook_secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.key_id, self.key_secret, self.webhook_secret = key_id, key_secret, webhook_secret
        self.host, self.port = host, port
        self.delays: dict[str, float] = {}
        self.response_delays: dict[str, float] = {}
        self.refunds_pending = False
        self.refunds_listed_after = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._orders: dict[str, Json] = {}
        self._payments: dict[str, Json] = {}
        self._refunds: dict[str, Json] = {}
        self._listed_at: dict[str, float] = {}
        self._idempotent_refunds: dict[str, tuple[str, Json, str]] = {}
        self._refund_keys_in_flight: set[str] = set()
        """``X-Refund-Idempotency`` key → (payment id, request body, refund id)."""
        self._captures: dict[str, int] = {}
        self._failures: dict[str, list[tuple[int, bool]]] = {}
        self._log: list[tuple[str, str]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's base URL (``http://127.0.0.1:<port>``), once started."""
        if self._server is None:
            msg = "FakeRazorpay is not running"
            raise RuntimeError(msg)
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> FakeRazorpay:
        """Start serving in a daemon thread."""
        if self._server is not None:
            msg = "FakeRazorpay is already running"
            raise RuntimeError(msg)
        self._stopping.clear()
        self._server = _Server((self.host, self.port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-razorpay", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket; held requests are released at once."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        thread.join()

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
            order = self._order(order_id)
            self._refuse_paid(order)
            payment = self._new_payment(order, method="card", status="authorized", email=None, contact=None)
            self._settle(payment, outcome)
            return str(payment["id"])

    def settle_payment(self, payment_id: str, outcome: Literal["authorized", "failed", "captured"]) -> None:
        """Finish a ``created`` payment (a UPI answered, say), or capture an ``authorized`` one (auto-capture)."""
        with self._lock:
            payment = self._payment(payment_id)
            allowed = payment["status"] == "created" or (payment["status"], outcome) == ("authorized", "captured")
            if not allowed:
                msg = f"payment {payment_id} is {payment['status']}: it cannot become {outcome}"
                raise ValueError(msg)
            self._settle(payment, outcome)

    def settle_refund(self, refund_id: str, status: Literal["processed", "failed"] = "processed") -> None:
        """Finish a ``pending`` refund; a failed one gives its amount back to the payment."""
        with self._lock:
            refund = self._refund(refund_id)
            if refund["status"] != "pending":
                msg = f"refund {refund_id} is {refund['status']}, not pending"
                raise ValueError(msg)
            refund["status"] = status
            if status == "failed":
                self._add_refunded(self._payments[refund["payment_id"]], -refund["amount"])

    def checkout_signature(self, order_id: str, payment_id: str) -> str:
        """The ``razorpay_signature`` Checkout would hand the browser for this payment."""
        return checkout_signature(self.key_secret, order_id, payment_id)

    def capture_count(self, order_id: str | None = None) -> int:
        """Captures that moved money, of one order or of all; a refused repeat does not count."""
        with self._lock:
            if order_id is not None:
                return self._captures.get(order_id, 0)
            return sum(self._captures.values())

    def captures_by_receipt(self) -> dict[str, int]:
        """Captures that moved money by order receipt (payguard's payment id), orders without one too."""
        with self._lock:
            counts: dict[str, int] = {}
            for order in self._orders.values():
                receipt = str(order["receipt"])
                counts[receipt] = counts.get(receipt, 0) + self._captures.get(order["id"], 0)
            return counts

    def order(self, order_id: str) -> Json:
        """A copy of an order entity."""
        with self._lock:
            return copy.deepcopy(self._order(order_id))

    def payment(self, payment_id: str) -> Json:
        """A copy of a payment entity."""
        with self._lock:
            return copy.deepcopy(self._payment(payment_id))

    def payments(self, order_id: str) -> list[Json]:
        """Copies of an order's payment entities, newest first (as Razorpay lists them)."""
        with self._lock:
            return copy.deepcopy(self._payments_of(self._order(order_id)["id"]))

    def refunds(self, payment_id: str) -> list[Json]:
        """Copies of a payment's refund entities, newest first (those the API does not list yet too)."""
        with self._lock:
            return copy.deepcopy(self._refunds_of(self._payment(payment_id)["id"], listed_only=False))

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
        with self._lock:
            payload: Json = {}
            if refund_id is not None:
                refund = self._refund(refund_id)
                payload["refund"] = {"entity": copy.deepcopy(refund)}
                payment_id = payment_id or refund["payment_id"]
            if payment_id is not None:
                payment = self._payment(payment_id)
                payload["payment"] = {"entity": copy.deepcopy(payment)}
                if event.startswith("order."):
                    payload["order"] = {"entity": copy.deepcopy(self._orders[payment["order_id"]])}
            if not payload:
                msg = "a webhook needs a payment_id or a refund_id"
                raise ValueError(msg)
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
            "X-Razorpay-Event-Id": _token(),
        }
        return headers, body

    # -- HTTP -----------------------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, authorization: str | None, raw: bytes, idempotency_key: str | None = None
    ) -> tuple[int, Json]:
        """Answer one HTTP request: ``(status, JSON body)``. Called from the server's handler threads.

        ``idempotency_key`` is the request's ``X-Refund-Idempotency`` header: a refund asked again with it is
        answered with the first one, a different body is refused, and one still being answered is 409 (Razorpay's
        normal refunds).
        """
        split = urlsplit(target)
        path = split.path
        with self._lock:
            self._log.append((method, path))
        try:
            if path.startswith("/_fake/"):
                return 200, self._control(method, path, _json(raw))
            if not self._authorized(authorization):
                raise _RefusedError("Authentication failed", status=401)
            kind, handler, ident = _route(method, path)
            if (held := self.delays.get(kind)) and self._stopping.wait(held):
                return 503, _error("SERVER_ERROR", _SERVER_ERROR)
            failure = self._take_failure(kind)
            if failure is not None and not failure[1]:
                return failure[0], _error("SERVER_ERROR", _SERVER_ERROR)
            data = _json(raw) if method == "POST" else dict(parse_qsl(split.query))
            keyed = idempotency_key if kind == "refund" else None
            with self._lock:
                if keyed is not None:
                    if keyed in self._refund_keys_in_flight:
                        raise _RefusedError("A request with this idempotency key is in progress.", 409, "CONFLICT")
                    self._refund_keys_in_flight.add(keyed)
            try:
                with self._lock:
                    answer = self._idempotent_refund(keyed, ident, data) if keyed else handler(self, ident, data)
                if held := self.response_delays.get(kind):
                    self._stopping.wait(held)
            finally:
                if keyed is not None:
                    with self._lock:
                        self._refund_keys_in_flight.discard(keyed)
            if failure is not None:
                return failure[0], _error("SERVER_ERROR", _SERVER_ERROR)
        except _RefusedError as refusal:
            return refusal.status, refusal.body
        return 200, answer

    def _authorized(self, header: str | None) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        return header is not None and hmac.compare_digest(header.encode("utf-8", "replace"), expected.encode())

    def _take_failure(self, kind: str) -> tuple[int, bool] | None:
        with self._lock:
            queued = self._failures.get(kind)
            return queued.pop(0) if queued else None

    def _control(self, method: str, path: str, data: Json) -> Json:
        try:
            return self._control_route(method, path, data)
        except _RefusedError:
            raise
        except ValueError as exc:
            raise _RefusedError(str(exc)) from None

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
        raise _RefusedError("The requested URL was not found on the server.", status=404)

    # -- API routes (called with the lock held) ------------------------------------------------------------

    def _create_order(self, _: str, data: Json) -> Json:
        amount, currency = data.get("amount"), data.get("currency")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
            raise _RefusedError("The amount must be atleast INR 1.00.")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise _RefusedError("The currency must be a valid currency code.")
        receipt, notes = data.get("receipt"), _notes(data)
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise _RefusedError("The receipt may not be greater than 40 characters.")
        order: Json = {
            "id": _new_id("order"),
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
        self._orders[order["id"]] = order
        return copy.deepcopy(order)

    def _fetch_order(self, order_id: str, _: Json) -> Json:
        return copy.deepcopy(self._order(order_id))

    def _order_payments(self, order_id: str, _: Json) -> Json:
        return _collection(self._payments_of(self._order(order_id)["id"]))

    def _create_payment(self, _: str, data: Json) -> Json:
        order = self._order(str(data.get("order_id")))
        self._refuse_paid(order)
        if data.get("amount") != order["amount"] or data.get("currency") != order["currency"]:
            raise _RefusedError("The payment amount and currency must be equal to the order's.")
        for member in ("email", "contact"):
            if not isinstance(data.get(member), str) or not data[member]:
                raise _RefusedError(f"The {member} field is required.")
        method = data.get("method")
        if method not in _METHODS:
            raise _RefusedError("Invalid payment method given.")
        status, vpa = ("authorized" if method == "card" else "created"), None
        if method == "card" and not isinstance(data.get("card"), dict):
            raise _RefusedError("The card number field is required.")
        if method in {"netbanking", "wallet"} and not isinstance(
            data.get("bank" if method == "netbanking" else method), str
        ):
            raise _RefusedError(f"The {'bank' if method == 'netbanking' else 'wallet'} field is required.")
        if method == "upi":
            vpa = data.get("vpa")
            if not isinstance(vpa, str) or "@" not in vpa:
                raise _RefusedError("Invalid VPA. Please enter a valid Virtual Payment Address")
            status = _VPA_OUTCOMES.get(vpa, "created")
        payment = self._new_payment(
            order, method=method, status="created", email=data["email"], contact=data["contact"]
        )
        payment["vpa"] = vpa
        self._settle(payment, status)
        action = {"action": "poll", "url": f"{self.url}/v1/payments/{payment['id']}"}
        return {"razorpay_payment_id": payment["id"], "next": [action]}

    def _fetch_payment(self, payment_id: str, _: Json) -> Json:
        return copy.deepcopy(self._payment(payment_id))

    def _capture(self, payment_id: str, data: Json) -> Json:
        payment = self._payment(payment_id)
        if data.get("amount") != payment["amount"]:
            raise _RefusedError("Capture amount must be equal to the amount authorized")
        if data.get("currency", payment["currency"]) != payment["currency"]:
            raise _RefusedError("Currency should be same as payment currency")
        if payment["status"] in {"captured", "refunded"}:
            raise _RefusedError("This payment has already been captured")
        if payment["status"] != "authorized":
            raise _RefusedError("Only payments which have been authorized and not yet captured can be captured")
        self._settle(payment, "captured")
        return copy.deepcopy(payment)

    def _refund_payment(self, payment_id: str, data: Json) -> Json:
        payment = self._payment(payment_id)
        if payment["status"] not in {"captured", "refunded"}:
            raise _RefusedError("The payment has not been captured")
        remaining = payment["amount"] - payment["amount_refunded"]
        amount = data.get("amount", remaining)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise _RefusedError("The amount must be a positive integer.")
        if amount > remaining:
            raise _RefusedError("The refund amount provided is greater than amount captured")
        speed = data.get("speed", "normal")
        notes = _notes(data)
        refund: Json = {
            "id": _new_id("rfnd"),
            "entity": "refund",
            "amount": amount,
            "currency": payment["currency"],
            "payment_id": payment["id"],
            "notes": notes,
            "receipt": data.get("receipt"),
            "acquirer_data": {"arn": None},
            "created_at": int(time.time()),
            "batch_id": None,
            "status": "pending" if self.refunds_pending else "processed",
            "speed_processed": speed,
            "speed_requested": speed,
        }
        self._refunds[refund["id"]] = refund
        self._listed_at[refund["id"]] = time.monotonic() + self.refunds_listed_after
        self._add_refunded(payment, amount)
        return copy.deepcopy(refund)

    def _payment_refunds(self, payment_id: str, data: Json) -> Json:
        refunds = self._refunds_of(self._payment(payment_id)["id"])
        try:
            count, skip = min(int(data.get("count", 10)), 100), int(data.get("skip", 0))
        except ValueError:
            raise _RefusedError("The count and skip must be integers.") from None
        return _collection(refunds[skip : skip + count])

    def _fetch_refund(self, refund_id: str, _: Json) -> Json:
        return copy.deepcopy(self._refund(refund_id))

    # -- state helpers (lock held) -------------------------------------------------------------------------

    def _order(self, order_id: str) -> Json:
        if order_id not in self._orders:
            raise _RefusedError("The id provided does not exist")
        return self._orders[order_id]

    def _payment(self, payment_id: str) -> Json:
        if payment_id not in self._payments:
            raise _RefusedError("The id provided does not exist")
        return self._payments[payment_id]

    def _refund(self, refund_id: str) -> Json:
        if refund_id not in self._refunds:
            raise _RefusedError("The id provided does not exist")
        return self._refunds[refund_id]

    def _payments_of(self, order_id: str) -> list[Json]:
        return [payment for payment in reversed(self._payments.values()) if payment["order_id"] == order_id]

    def _refunds_of(self, payment_id: str, *, listed_only: bool = True) -> list[Json]:
        """The payment's refunds, newest first; ``listed_only``: those its list shows already."""
        now = time.monotonic()
        return [
            refund
            for refund in reversed(self._refunds.values())
            if refund["payment_id"] == payment_id and (not listed_only or self._listed_at.get(refund["id"], 0.0) <= now)
        ]

    def _idempotent_refund(self, key: str, payment_id: str, data: Json) -> Json:
        if not re.fullmatch(r"[A-Za-z0-9_-]{10,}", key):
            raise _RefusedError("The idempotency key must be at least 10 characters of letters, digits, - and _.")
        known = self._idempotent_refunds.get(key)
        if known is None:
            refund = self._refund_payment(payment_id, data)
            self._idempotent_refunds[key] = (payment_id, copy.deepcopy(data), refund["id"])
            return refund
        if known[:2] != (payment_id, data):
            raise _RefusedError("The request body differs from the first request with this idempotency key.")
        return copy.deepcopy(self._refunds[known[2]])

    def _refuse_paid(self, order: Json) -> None:
        if order["status"] == "paid":
            raise _RefusedError("This order has already been paid")

    def _new_payment(self, order: Json, *, method: str, status: str, email: str | None, contact: str | None) -> Json:
        order["attempts"] += 1
        order["status"] = "attempted"
        payment: Json = {
            "id": _new_id("pay"),
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
        self._payments[payment["id"]] = payment
        return payment

    def _settle(self, payment: Json, status: str) -> None:
        if status == "captured" and payment["status"] != "authorized":
            self._settle(payment, "authorized")
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
            order = self._orders[payment["order_id"]]
            order.update(amount_paid=payment["amount"], amount_due=0, status="paid")
            self._captures[order["id"]] = self._captures.get(order["id"], 0) + 1

    def _add_refunded(self, payment: Json, amount: int) -> None:
        payment["amount_refunded"] += amount
        refunded = payment["amount_refunded"]
        full = refunded == payment["amount"]
        payment["refund_status"] = None if refunded == 0 else "full" if full else "partial"
        payment["status"] = "refunded" if full else "captured"


_Route = Callable[[FakeRazorpay, str, Json], Json]
_ROUTES: Final[tuple[tuple[str, re.Pattern[str], str, _Route], ...]] = (
    ("POST", re.compile(r"/v1/orders"), "create_order", FakeRazorpay._create_order),
    ("GET", re.compile(r"/v1/orders/([^/]+)"), "fetch_order", FakeRazorpay._fetch_order),
    ("GET", re.compile(r"/v1/orders/([^/]+)/payments"), "order_payments", FakeRazorpay._order_payments),
    ("POST", re.compile(r"/v1/payments/create/json"), "create_payment", FakeRazorpay._create_payment),
    ("GET", re.compile(r"/v1/payments/([^/]+)"), "fetch_payment", FakeRazorpay._fetch_payment),
    ("POST", re.compile(r"/v1/payments/([^/]+)/capture"), "capture", FakeRazorpay._capture),
    ("POST", re.compile(r"/v1/payments/([^/]+)/refund"), "refund", FakeRazorpay._refund_payment),
    ("GET", re.compile(r"/v1/payments/([^/]+)/refunds"), "payment_refunds", FakeRazorpay._payment_refunds),
    ("GET", re.compile(r"/v1/refunds/([^/]+)"), "fetch_refund", FakeRazorpay._fetch_refund),
)


def _route(method: str, path: str) -> tuple[str, _Route, str]:
    for route_method, pattern, kind, handler in _ROUTES:
        if route_method == method and (match := pattern.fullmatch(path)):
            return kind, handler, unquote(match.group(1)) if pattern.groups else ""
    raise _RefusedError("The requested URL was not found on the server.")


def _json(raw: bytes) -> Json:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise _RefusedError("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise _RefusedError("The request body must be a JSON object.")
    return data


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 resets the connections of a burst of concurrent workers

    def __init__(self, address: tuple[str, int], handler: type[_Handler], fake: FakeRazorpay) -> None:
        super().__init__(address, handler)
        self.fake = fake

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a held request is part of the tests, not an error worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload = self.server.fake.handle(
            method, self.path, self.headers.get("Authorization"), raw, self.headers.get("X-Refund-Idempotency")
        )
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Stay quiet: the fake's :attr:`FakeRazorpay.requests` is the log tests read."""


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake Razorpay until SIGINT or SIGTERM, after printing its URL."""
    parser = argparse.ArgumentParser(prog="python -m litestar_payguard.testing.razorpay", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--key-id", default="rzp_test_payguard")
    parser.add_argument("--key-secret", default="fake_key_secret")
    parser.add_argument("--webhook-secret", default="fake_webhook_secret")
    parser.add_argument("--refunds-pending", action="store_true", help="leave new refunds pending")
    args = parser.parse_args(argv)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    fake = FakeRazorpay(args.key_id, args.key_secret, args.webhook_secret, host=args.host, port=args.port)
    fake.refunds_pending = args.refunds_pending
    with fake:
        sys.stdout.write(f"{fake.url}\n")
        sys.stdout.flush()
        stopped.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
