"""Configuration of the payguard plugin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from litestar_payguard.clock import Clock, SystemClock
from litestar_payguard.config_checks import (
    check_bounds,
    check_finite,
    check_gateways,
    check_jobs,
    check_path,
    check_pricing,
    check_queue,
    check_webhooks,
)
from litestar_payguard.config_env import POLICY as _POLICY
from litestar_payguard.config_env import POLICY_FLOATS as _POLICY_FLOATS
from litestar_payguard.config_env import POLICY_STRING as _POLICY_STRING
from litestar_payguard.config_env import POLICY_STRINGS as _POLICY_STRINGS
from litestar_payguard.config_env import EnvPolicy
from litestar_payguard.gateways import Gateway, SimulatedGateway
from litestar_payguard.pricing import PricingHook

if TYPE_CHECKING:
    from ipaddress import IPv4Address, IPv6Address

    from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
    from litestar.connection import ASGIConnection
    from litestar.types import Guard
    from saq import Queue
    from sqlalchemy.ext.asyncio import AsyncSession

    from litestar_payguard.models import Payment

__all__ = ("CustomerResolver", "FulfilmentHook", "PayGuardConfig")

CustomerResolver = Callable[["ASGIConnection[Any, Any, Any, Any]"], "Awaitable[str | None] | str | None"]
"""Reads the customer id from a request, using the host's own authentication; ``None`` when anonymous."""
FulfilmentHook = Callable[["Payment", "AsyncSession"], Awaitable[object]]
"""The host's fulfilment (create the order): called with the payment and the database session, inside the
transaction that marks the payment ``succeeded``. If it raises, that transaction rolls back and it is retried."""

WEBHOOK_LEASE_MARGIN_SECONDS = 10.0
"""Lease a webhook attempt keeps past its timeout, to record its outcome."""


@dataclass
class PayGuardConfig(EnvPolicy):
    """Everything payguard needs from its host; policy values have production defaults.

    Policy fields (marked in their metadata) can be read from ``PAYGUARD_<FIELD>`` environment variables
    with :meth:`with_env`.
    """

    path: str = "/payguard"
    """Path prefix of every payguard route."""
    public_url: str | None = field(default=None, metadata=_POLICY_STRING)
    """Origin customers reach payguard at (``https://pay.example``), for ``checkoutUrl``; else the request's."""
    queue_url: str | None = None
    """SAQ queue URL: ``redis://…`` or ``postgres://…``. One of ``queue_url`` and ``queue`` is required."""
    queue: Queue | None = None
    """A SAQ queue the host already has, instead of ``queue_url``."""
    queue_name: str = "payguard"
    """Name of the SAQ queue payguard creates from ``queue_url``."""
    run_worker_in_app: bool = False
    """Run a worker inside the application process (development, demo). Production runs
    ``litestar payguard worker`` processes instead."""
    sqlalchemy_config: SQLAlchemyAsyncConfig | None = None
    """The host's advanced-alchemy config to use; found among the app's plugins when not given."""
    customer_id: CustomerResolver | None = None
    """Hook reading the customer id from a request (the host's auth). Customer routes answer 401 without one."""
    default_merchant_key: str | None = None
    """API key of the merchant that requests without ``X-Api-Key`` act for (single-tenant hosts). The merchant
    is created on first use if missing: live when ``live_gateway`` is set, in test mode otherwise. ``None``
    requires API key headers on every request."""
    admin_enabled: bool = True
    """Register the admin routes."""
    admin_guards: Sequence[Guard] = ()
    """Guards protecting the admin routes and the dashboard; required when ``admin_enabled`` (fail closed)."""
    admin_csrf_secret: str | None = field(default=None, repr=False, metadata=_POLICY_STRING)
    """Key signing the dashboard forms' CSRF tokens (a long random string). Without it, one derived from
    ``webhook_secret_key`` (HKDF, the same in every process) when that is set, else a random key per process: set
    one of them when several processes serve the dashboard, or one refuses the forms another rendered."""
    test_gateway: Gateway = field(default_factory=SimulatedGateway)
    """The gateway of test-mode merchants (``Merchant.test_mode``): it must not move real money (``live`` false),
    e.g. ``RazorpayGateway`` with ``rzp_test_`` keys."""
    live_gateway: Gateway | None = None
    """The gateway of live merchants, which moves real money (``live`` true). ``None``: a test-only deployment, in
    which no live merchant can be created and a live merchant's payment is refused (``GATEWAY_NOT_CONFIGURED``)."""
    on_payment_succeeded: FulfilmentHook | None = None
    """The host's fulfilment hook: runs in the same transaction as the payment's move to ``succeeded``, so a
    payment is never paid without its order. A hook that raises is retried with backoff
    (``fulfilment_retry_seconds``); after ``fulfilment_max_attempts`` the payment is flagged for attention."""
    pricing: PricingHook | None = None
    """The host's prices: ``(bundle_id, plan_name, request) -> Price | None`` (may be async). A customer's
    ``POST /sessions`` names a bundle and is charged what this returns; ``None`` answers 404 ``BUNDLE_NOT_FOUND``.
    Without it (and without ``trust_client_prices``) that route answers 403 ``PRICING_NOT_CONFIGURED``; the host's
    own code and the merchant API set amounts server-side and need no hook."""
    trust_client_prices: bool = False
    """Let the client of ``POST /sessions`` set ``amount`` and ``currency`` (then required), as before pricing hooks
    existed. Only for trusted first-party clients that are not a customer's browser or app (an internal back
    office, say): anyone who can call the route chooses what they pay. Cannot be combined with ``pricing``."""
    clock: Clock = field(default_factory=SystemClock)
    """Source of the current time; tests inject a manual clock."""
    max_body_bytes: int = 64 * 1024
    """Largest request body payguard's routes accept (413 beyond)."""
    openapi_customer_scheme: str = "hostAuth"
    """Name of the security scheme that signs customers in (the host's own authentication) in the OpenAPI document.
    Define it in the host's ``OpenAPIConfig(components=Components(security_schemes={...}))`` to say how (a cookie,
    a bearer token…); payguard adds an HTTP bearer scheme under this name if the host does not."""
    openapi_admin_scheme: str | None = None
    """Name of the security scheme of the host's staff on the admin routes (defined like the customer's); ``None``:
    the same as ``openapi_customer_scheme``."""
    idempotency_routes: Sequence[str] = ()
    """The host's route path templates (``scope["path_template"]``, e.g. ``"/shop/orders/{order_id}"``) that accept
    ``Idempotency-Key`` and get payguard's transaction boundary, without touching the routes themselves; a route
    can also opt in with ``opt={"payguard_idempotency": "optional"}``."""
    idempotency_required_routes: Sequence[str] = ()
    """Route path templates (``scope["path_template"]``: parameters without their type, e.g.
    ``"/payguard/v1/payments"``) where an unsafe
    request without ``Idempotency-Key`` is refused; a route can also say so with
    ``opt={"payguard_idempotency": "required"}``."""

    attempt_timeout_seconds: float = field(default=30.0, metadata=_POLICY)
    """Deadline of one payment attempt; an attempt past it is reported as interrupted (``timeout``)."""
    max_attempts: int = field(default=3, metadata=_POLICY)
    """Attempts per checkout session."""
    retry_delay_seconds: float = field(default=2.0, metadata=_POLICY)
    """Minimum delay between an interruption and the next attempt."""
    session_expiry_seconds: float = field(default=900.0, metadata=_POLICY)
    """Lifetime of a checkout session; it expires (and its payment is cancelled) after it."""
    session_cleanup_cron: str = field(default="*/5 * * * *", metadata=_POLICY)
    """Cron schedule of the job expiring sessions."""
    session_cleanup_batch_size: int = field(default=500, metadata=_POLICY)
    """Sessions expired per transaction by the cleanup job."""
    poll_interval_ms: int = field(default=2000, metadata=_POLICY)
    """Status polling interval suggested to clients."""
    max_amount: int = field(default=100_000_000, metadata=_POLICY)
    """Largest accepted amount, in minor units of any currency."""
    worker_concurrency: int = field(default=5, metadata=_POLICY)
    """Jobs one worker runs at once."""
    worker_shutdown_grace_seconds: float = field(default=20.0, metadata=_POLICY)
    """How long a stopping worker (SIGTERM, application shutdown) waits for its running jobs to finish; it takes no
    new job meanwhile. Jobs still running then are cancelled and retried by SAQ: a payment or refund step gives its
    lease back, so the next worker takes it up at once. Keep it under the platform's own stop timeout (30 s on
    Kubernetes by default), or the process is killed before it can hand its payments on."""
    worker_heartbeat_seconds: float = field(default=60.0, metadata=_POLICY)
    """A worker's heartbeat (on the queue, with SAQ's worker info) lasts this long and is renewed every third of it:
    ``{path}/ready`` is not ready when no worker has been heard from within it."""
    ready_max_lag_seconds: float = field(default=300.0, metadata=_POLICY)
    """``{path}/ready`` is not ready when a payment, refund or webhook delivery has been due longer than this (the
    workers are not keeping up, or none takes the work)."""
    stale_pending_seconds: float = field(default=1800.0, metadata=_POLICY)
    """A pending payment older than this is stale: it no longer blocks a new payment for its bundle and is expired.
    A payment submitted to the gateway (``processing``) is never expired by age."""
    stale_cleanup_cron: str = field(default="*/15 * * * *", metadata=_POLICY)
    """Cron schedule (UTC) of the job expiring stale pending payments."""
    stale_cleanup_batch_size: int = field(default=1000, metadata=_POLICY)
    """Stale payments expired per transaction by that job."""
    stale_cleanup_alert_threshold: int = field(default=10, metadata=_POLICY)
    """A cleanup run expiring more payments than this logs a warning and writes a ``payguard.cleanup.large``
    event: many abandoned payments at once usually means checkout is broken somewhere."""
    payment_lease_seconds: float = field(default=120.0, metadata=_POLICY)
    """How long a worker holds a payment or refund it took up (the SAQ job's timeout too). A payment whose lease
    ran out (its worker died or hung) is handed to another worker by the reconciler, which asks the gateway
    first: a payment stuck in ``processing`` longer than this is resolved from the gateway's answer. A step's
    gateway calls must answer within its first 80 %; one still waiting then counts as no answer and is retried,
    while the lease is still the worker's."""
    gateway_retry_seconds: float = field(default=10.0, metadata=_POLICY)
    """First delay before trying again when the gateway gave no answer; doubles each time, up to 15 minutes."""
    gateway_max_attempts: int = field(default=30, metadata=_POLICY)
    """Steps of a payment the gateway gave no answer to, after which payguard stops retrying and flags the payment
    for attention (about six hours with the default backoff). A refund's steps without an answer flag its payment
    after as many, but the refund is still retried (every 15 minutes): its money may have moved."""
    gateway_poll_seconds: float = field(default=5.0, metadata=_POLICY)
    """Delay before asking the gateway again about a payment or refund it reported as still pending."""
    fulfilment_max_attempts: int = field(default=5, metadata=_POLICY)
    """Failures of ``on_payment_succeeded`` after which the payment is flagged for attention."""
    fulfilment_retry_seconds: float = field(default=5.0, metadata=_POLICY)
    """First delay before running a failed fulfilment hook again; doubles each time."""
    reconcile_cron: str = field(default="* * * * *", metadata=_POLICY)
    """Cron schedule of the reconciler: it hands due payments and refunds (a lost job, a dead worker's lease,
    a retry) to the workers."""
    reconcile_batch_size: int = field(default=500, metadata=_POLICY)
    """Payments and refunds the reconciler hands out per run, each."""
    gateway_webhook_max_age_seconds: float = field(default=259_200.0, metadata=_POLICY)
    """An inbound gateway webhook whose event (its signed creation time) is older than this is refused (422
    ``WEBHOOK_TOO_OLD``), so a genuine delivery captured long ago cannot be replayed. Razorpay retries a failed
    delivery for 24 hours after the event's creation; the 72-hour default leaves two more days for a host that
    was down or clocks that disagree. An event Razorpay replays on request (up to 15 days) needs a larger value
    for that time."""
    idempotency_key_ttl_seconds: float = field(default=86_400.0, metadata=_POLICY)
    """How long a key and its stored response live."""
    idempotency_lock_timeout_seconds: float = field(default=90.0, metadata=_POLICY)
    """After this, the claim of a request that never finished (its process died) may be taken over."""
    idempotency_purge_cron: str = field(default="0 * * * *", metadata=_POLICY)
    """Cron schedule of the job deleting expired keys."""
    idempotency_purge_batch_size: int = field(default=1000, metadata=_POLICY)
    """Keys deleted per transaction by that job."""
    webhook_allowed_networks: tuple[str, ...] = field(default=(), metadata=_POLICY_STRINGS)
    """Networks (CIDRs, e.g. ``("127.0.0.0/8", "::1/128")``) that merchants' webhook endpoints may reach although
    they are not public: loopback, private, link-local, CGNAT and reserved addresses are refused otherwise, when an
    endpoint is registered and again before every attempt. For local receivers in development and tests; the
    variable is comma-separated."""
    webhook_secret_key: str | None = field(default=None, repr=False, metadata=_POLICY_STRING)
    """Key encrypting webhook signing secrets, and the answers kept for idempotency replays, at rest: base64 of 32
    random bytes (``openssl rand -base64 32``). Without it both are stored as they are (a warning is logged at
    start-up); a value stored with a key cannot be read without that key. Never shown in ``repr``."""
    webhook_timeout_seconds: float = field(default=15.0, metadata=_POLICY)
    """Deadline of one webhook attempt, from connecting to the last byte of the answer; past it, it failed."""
    webhook_retry_schedule_seconds: tuple[float, ...] = field(
        default=(60.0, 300.0, 1800.0, 7200.0), metadata=_POLICY_FLOATS
    )
    """Delays of a delivery's retries after its first attempt fails (live merchants): one retry per entry, so
    ``len + 1`` attempts in all."""
    webhook_test_retry_schedule_seconds: tuple[float, ...] = field(
        default=(5.0, 10.0, 15.0, 20.0), metadata=_POLICY_FLOATS
    )
    """The same for test-mode merchants: short, so a developer sees retries happen."""
    webhook_retry_jitter: float = field(default=0.2, metadata=_POLICY)
    """Each retry delay is moved by up to this fraction either way (0.2: ±20 %), so failed deliveries to one
    receiver do not all come back at once. From 0 (none) to below 1."""
    webhook_max_in_flight_per_endpoint: int = field(default=5, metadata=_POLICY)
    """Attempts running at once for one endpoint, so one slow receiver cannot take every worker."""
    webhook_disable_after_seconds: float = field(default=432_000.0, metadata=_POLICY)
    """An endpoint whose every delivery has failed for this long (5 days; a success starts it again) is disabled."""
    webhook_sweep_seconds: float = field(default=2.0, metadata=_POLICY)
    """How often new events are fanned out into deliveries (an event waits at most this long for its first
    attempt), and due deliveries whose job was lost (a Redis restart, a killed worker) are looked for (nothing
    waits much longer than this past its due time). With nothing to do a sweep is two indexed queries."""
    webhook_max_body_bytes: int = field(default=20_000, metadata=_POLICY)
    """Largest webhook body stored or sent; an event above it is sent as a thin payload (the object's id and where
    to fetch it)."""
    event_retention_days: int = field(default=30, metadata=_POLICY)
    """Days events (and their deliveries) are kept before the purge job deletes them."""
    webhook_resolver: Callable[[str, int], Awaitable[list[IPv4Address | IPv6Address]]] | None = None
    """Resolves an endpoint's host name to the addresses checked and connected to (``None``: the system's
    resolver). Tests and hosts with their own DNS give one; every address it answers is checked like any other."""

    def __post_init__(self) -> None:
        settings = {f.name: getattr(self, f.name) for f in fields(self)}
        check_finite({name: settings[name] for name in self.policy_fields()})
        check_path(self.path, self.public_url)
        check_queue(self.queue_url, self.queue)
        check_bounds(settings)
        check_jobs(settings)
        check_gateways(self.test_gateway, self.live_gateway)
        check_pricing(self.pricing, self.trust_client_prices)
        check_webhooks(settings)

    @property
    def webhook_lease_seconds(self) -> float:
        """How long one webhook attempt holds its delivery: its timeout, plus ten seconds to record the outcome.

        A worker that dies mid-attempt leaves the delivery leased this long; the attempt's SAQ job may run no longer.
        """
        return self.webhook_timeout_seconds + WEBHOOK_LEASE_MARGIN_SECONDS

    def owns_path(self, path: str) -> bool:
        """Whether a request path (or route template) is payguard's: ``path`` itself or below it."""
        return self.path in {"/", path} or path.startswith(f"{self.path}/")
