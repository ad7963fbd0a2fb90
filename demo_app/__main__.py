"""``python -m demo_app`` (what ``./scripts/demo`` runs): serve the demo shop."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from demo_app.app import create_app


def main(argv: list[str] | None = None) -> None:
    """Parse ``--host``/``--port`` and serve the demo until interrupted."""
    parser = argparse.ArgumentParser(prog="scripts/demo", description="Run the litestar-payguard demo shop.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app()
    shown = "127.0.0.1" if args.host in {"0.0.0.0", "::"} else args.host  # a name to open, not to bind
    shown = f"[{shown}]" if ":" in shown else shown
    sys.stdout.write(
        f"\npayguard demo shop: open http://{shown}:{args.port}/ in a browser "
        "(log in as admin for the dashboard; the API is at /schema/swagger)\n\n"
    )
    sys.stdout.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
