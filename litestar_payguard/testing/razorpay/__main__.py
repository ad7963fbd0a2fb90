"""``python -m litestar_payguard.testing.razorpay``: serve a fake Razorpay until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from litestar_payguard.testing.razorpay.fake import FakeRazorpay

__all__ = ("main",)


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
