"""The fake Razorpay's request handling: HTTP Basic auth, the API routes, injected delays and failures.

:class:`~.fake.FakeRazorpay` adds the server and the test controls on top of :class:`RazorpayApi`.
"""

from __future__ import annotations

import base64
import copy
import hmac
import json
import re
import threading
from collections.abc import Callable
from typing import Final
from urllib.parse import parse_qsl, unquote, urlsplit

from litestar_payguard.testing.razorpay.entities import (
    SERVER_ERROR,
    Json,
    Records,
    RefusedError,
    collection,
    error_body,
    notes_of,
    order_record,
    refund_record,
)

__all__ = ("ROUTE_KINDS", "RazorpayApi")

_METHODS: Final = frozenset({"card", "upi", "netbanking", "wallet"})
_VPA_OUTCOMES: Final = {"success@razorpay": "authorized", "failure@razorpay": "failed"}


class RazorpayApi:
    """The subset of Razorpay's REST API payguard uses, over :class:`Records` guarded by one lock.

    Attributes:
        delays: Seconds to hold a request of a route kind (see :data:`ROUTE_KINDS`) before handling it.
        response_delays: Seconds to hold the answer of a route kind after its change is made.
        refunds_pending: New refunds stay ``pending`` instead of ``processed``.
        refunds_listed_after: Seconds before a new refund shows in its payment's list of refunds.
    """

    __slots__ = (
        "_failures",
        "_idempotent_refunds",
        "_lock",
        "_log",
        "_records",
        "_refund_keys_in_flight",
        "_stopping",
        "delays",
        "key_id",
        "key_secret",
        "refunds_listed_after",
        "refunds_pending",
        "response_delays",
    )

    def __init__(self, key_id: str, key_secret: str) -> None:
        self.key_id, self.key_secret = key_id, key_secret
        self.delays: dict[str, float] = {}
        self.response_delays: dict[str, float] = {}
        self.refunds_pending = False
        self.refunds_listed_after = 0.0
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # set while stopping: held requests are released at once
        self._records = Records()
        self._idempotent_refunds: dict[str, tuple[str, Json, str]] = {}
        """``X-Refund-Idempotency`` key → (payment id, request body, refund id)."""
        self._refund_keys_in_flight: set[str] = set()
        self._failures: dict[str, list[tuple[int, bool]]] = {}
        self._log: list[tuple[str, str]] = []

    @property
    def url(self) -> str:
        """The server's base URL; the API itself serves nowhere."""
        msg = "FakeRazorpay is not running"
        raise RuntimeError(msg)

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
                raise RefusedError("Authentication failed", status=401)
            kind, handler, ident = _route(method, path)
            if (held := self.delays.get(kind)) and self._stopping.wait(held):
                return 503, error_body("SERVER_ERROR", SERVER_ERROR)
            failure = self._take_failure(kind)
            if failure is not None and not failure[1]:
                return failure[0], error_body("SERVER_ERROR", SERVER_ERROR)
            data = _json(raw) if method == "POST" else dict(parse_qsl(split.query))
            answer = self._carry_out(kind, handler, ident, data, idempotency_key if kind == "refund" else None)
            if failure is not None:
                return failure[0], error_body("SERVER_ERROR", SERVER_ERROR)
        except RefusedError as refusal:
            return refusal.status, refusal.body
        return 200, answer

    def _carry_out(self, kind: str, handler: _Route, ident: str, data: Json, keyed: str | None) -> Json:
        """Make a route's change under the lock, then hold its answer for the route's response delay."""
        with self._lock:
            if keyed is not None:
                if keyed in self._refund_keys_in_flight:
                    raise RefusedError("A request with this idempotency key is in progress.", 409, "CONFLICT")
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
        return answer

    def _authorized(self, header: str | None) -> bool:
        expected = "Basic " + base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        return header is not None and hmac.compare_digest(header.encode("utf-8", "replace"), expected.encode())

    def _take_failure(self, kind: str) -> tuple[int, bool] | None:
        with self._lock:
            queued = self._failures.get(kind)
            return queued.pop(0) if queued else None

    def _control(self, method: str, path: str, data: Json) -> Json:  # noqa: ARG002 - the fake's controls use them
        """Answer a ``/_fake/`` test control route; the API alone has none."""
        raise RefusedError("The requested URL was not found on the server.", status=404)

    # -- API routes (called with the lock held) ------------------------------------------------------------

    def _create_order(self, _: str, data: Json) -> Json:
        amount, currency = data.get("amount"), data.get("currency")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount < 100:
            raise RefusedError("The amount must be atleast INR 1.00.")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise RefusedError("The currency must be a valid currency code.")
        receipt, notes = data.get("receipt"), notes_of(data)
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            raise RefusedError("The receipt may not be greater than 40 characters.")
        order = order_record(amount, currency, receipt, notes)
        self._records.orders[order["id"]] = order
        return copy.deepcopy(order)

    def _fetch_order(self, order_id: str, _: Json) -> Json:
        return copy.deepcopy(self._records.order(order_id))

    def _order_payments(self, order_id: str, _: Json) -> Json:
        return collection(self._records.payments_of(self._records.order(order_id)["id"]))

    def _create_payment(self, _: str, data: Json) -> Json:
        order = self._records.order(str(data.get("order_id")))
        self._records.refuse_paid(order)
        if data.get("amount") != order["amount"] or data.get("currency") != order["currency"]:
            raise RefusedError("The payment amount and currency must be equal to the order's.")
        for member in ("email", "contact"):
            if not isinstance(data.get(member), str) or not data[member]:
                raise RefusedError(f"The {member} field is required.")
        method, status, vpa = _payment_method(data)
        payment = self._records.new_payment(
            order, method=method, status="created", email=data["email"], contact=data["contact"]
        )
        payment["vpa"] = vpa
        self._records.settle(payment, status)
        action = {"action": "poll", "url": f"{self.url}/v1/payments/{payment['id']}"}
        return {"razorpay_payment_id": payment["id"], "next": [action]}

    def _fetch_payment(self, payment_id: str, _: Json) -> Json:
        return copy.deepcopy(self._records.payment(payment_id))

    def _capture(self, payment_id: str, data: Json) -> Json:
        payment = self._records.payment(payment_id)
        if data.get("amount") != payment["amount"]:
            raise RefusedError("Capture amount must be equal to the amount authorized")
        if data.get("currency", payment["currency"]) != payment["currency"]:
            raise RefusedError("Currency should be same as payment currency")
        if payment["status"] in {"captured", "refunded"}:
            raise RefusedError("This payment has already been captured")
        if payment["status"] != "authorized":
            raise RefusedError("Only payments which have been authorized and not yet captured can be captured")
        self._records.settle(payment, "captured")
        return copy.deepcopy(payment)

    def _refund_payment(self, payment_id: str, data: Json) -> Json:
        payment = self._records.payment(payment_id)
        if payment["status"] not in {"captured", "refunded"}:
            raise RefusedError("The payment has not been captured")
        remaining = payment["amount"] - payment["amount_refunded"]
        amount = data.get("amount", remaining)
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise RefusedError("The amount must be a positive integer.")
        if amount > remaining:
            raise RefusedError("The refund amount provided is greater than amount captured")
        refund = refund_record(payment, amount, data, pending=self.refunds_pending)
        self._records.add_refund(refund, listed_after=self.refunds_listed_after)
        self._records.add_refunded(payment, amount)
        return copy.deepcopy(refund)

    def _payment_refunds(self, payment_id: str, data: Json) -> Json:
        refunds = self._records.refunds_of(self._records.payment(payment_id)["id"])
        try:
            count, skip = min(int(data.get("count", 10)), 100), int(data.get("skip", 0))
        except ValueError:
            raise RefusedError("The count and skip must be integers.") from None
        return collection(refunds[skip : skip + count])

    def _fetch_refund(self, refund_id: str, _: Json) -> Json:
        return copy.deepcopy(self._records.refund(refund_id))

    def _idempotent_refund(self, key: str, payment_id: str, data: Json) -> Json:
        if not re.fullmatch(r"[A-Za-z0-9_-]{10,}", key):
            raise RefusedError("The idempotency key must be at least 10 characters of letters, digits, - and _.")
        known = self._idempotent_refunds.get(key)
        if known is None:
            refund = self._refund_payment(payment_id, data)
            self._idempotent_refunds[key] = (payment_id, copy.deepcopy(data), refund["id"])
            return refund
        if known[:2] != (payment_id, data):
            raise RefusedError("The request body differs from the first request with this idempotency key.")
        return copy.deepcopy(self._records.refunds[known[2]])


def _payment_method(data: Json) -> tuple[str, str, str | None]:
    """A payment request's ``(method, status it starts in, VPA)``, refusing a method's missing details."""
    method = data.get("method")
    if method not in _METHODS:
        raise RefusedError("Invalid payment method given.")
    status, vpa = ("authorized" if method == "card" else "created"), None
    if method == "card" and not isinstance(data.get("card"), dict):
        raise RefusedError("The card number field is required.")
    if method in {"netbanking", "wallet"}:
        detail = "bank" if method == "netbanking" else "wallet"
        if not isinstance(data.get(detail), str):
            raise RefusedError(f"The {detail} field is required.")
    if method == "upi":
        vpa = data.get("vpa")
        if not isinstance(vpa, str) or "@" not in vpa:
            raise RefusedError("Invalid VPA. Please enter a valid Virtual Payment Address")
        status = _VPA_OUTCOMES.get(vpa, "created")
    return str(method), status, vpa


_Route = Callable[[RazorpayApi, str, Json], Json]
_ROUTES: Final[tuple[tuple[str, re.Pattern[str], str, _Route], ...]] = (
    ("POST", re.compile(r"/v1/orders"), "create_order", RazorpayApi._create_order),
    ("GET", re.compile(r"/v1/orders/([^/]+)"), "fetch_order", RazorpayApi._fetch_order),
    ("GET", re.compile(r"/v1/orders/([^/]+)/payments"), "order_payments", RazorpayApi._order_payments),
    ("POST", re.compile(r"/v1/payments/create/json"), "create_payment", RazorpayApi._create_payment),
    ("GET", re.compile(r"/v1/payments/([^/]+)"), "fetch_payment", RazorpayApi._fetch_payment),
    ("POST", re.compile(r"/v1/payments/([^/]+)/capture"), "capture", RazorpayApi._capture),
    ("POST", re.compile(r"/v1/payments/([^/]+)/refund"), "refund", RazorpayApi._refund_payment),
    ("GET", re.compile(r"/v1/payments/([^/]+)/refunds"), "payment_refunds", RazorpayApi._payment_refunds),
    ("GET", re.compile(r"/v1/refunds/([^/]+)"), "fetch_refund", RazorpayApi._fetch_refund),
)

ROUTE_KINDS: Final = tuple(kind for _, _, kind, _ in _ROUTES)
"""Names of the API routes, for :attr:`FakeRazorpay.delays` and :meth:`FakeRazorpay.fail_next`."""


def _route(method: str, path: str) -> tuple[str, _Route, str]:
    for route_method, pattern, kind, handler in _ROUTES:
        if route_method == method and (match := pattern.fullmatch(path)):
            return kind, handler, unquote(match.group(1)) if pattern.groups else ""
    raise RefusedError("The requested URL was not found on the server.")


def _json(raw: bytes) -> Json:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise RefusedError("The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise RefusedError("The request body must be a JSON object.")
    return data
