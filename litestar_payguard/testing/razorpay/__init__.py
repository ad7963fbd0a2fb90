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

Modules: :mod:`.entities` (the order, payment and refund records), :mod:`.api` (the request handling),
:mod:`.server` (the HTTP server thread), :mod:`.fake` (:class:`FakeRazorpay` and its controls) and
``__main__`` (the command line; not imported here, so that ``python -m`` runs it without a second copy).
"""

from litestar_payguard.testing.razorpay.api import ROUTE_KINDS
from litestar_payguard.testing.razorpay.fake import FakeRazorpay

__all__ = ("ROUTE_KINDS", "FakeRazorpay")
