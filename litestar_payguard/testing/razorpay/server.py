"""The fake Razorpay's HTTP server: JSON answers from a daemon thread, standard library only."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from litestar_payguard.testing.razorpay.entities import Json

__all__ = ("CHECKOUT_SCRIPT_PATH", "Answer", "ServerThread")

CHECKOUT_SCRIPT_PATH = "/v1/checkout.js"
"""Where the fake serves its Checkout script (``checkout.js`` beside this module), for the hosted checkout page."""
_CHECKOUT_SCRIPT = Path(__file__).with_name("checkout.js")

Answer = Callable[[str, str, str | None, bytes, str | None], tuple[int, Json]]
"""Answers a request ``(method, target, Authorization, body, X-Refund-Idempotency)`` with ``(status, JSON)``."""


class ServerThread:
    """An HTTP server on ``host:port`` (``0``: a free port), serving ``answer`` in a daemon thread once built."""

    __slots__ = ("_server", "_thread")

    def __init__(self, host: str, port: int, answer: Answer) -> None:
        self._server = _Server((host, port), _Handler, answer)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-razorpay", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port the server listens on."""
        port: int = self._server.server_address[1]
        return port

    def stop(self) -> None:
        """Stop serving, close the socket and wait for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's 5 resets the connections of a burst of concurrent workers

    def __init__(self, address: tuple[str, int], handler: type[_Handler], answer: Answer) -> None:
        super().__init__(address, handler)
        self.answer = answer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up on a held request is part of the tests, not an error worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.path == CHECKOUT_SCRIPT_PATH:
            self._send(200, "application/javascript; charset=UTF-8", _CHECKOUT_SCRIPT.read_bytes())
        else:
            self._answer("GET")

    def do_POST(self) -> None:
        self._answer("POST")

    def _answer(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, payload = self.server.answer(
            method, self.path, self.headers.get("Authorization"), raw, self.headers.get("X-Refund-Idempotency")
        )
        self._send(status, "application/json; charset=UTF-8", json.dumps(payload).encode())

    def _send(self, status: int, content_type: str, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        # The fake Checkout script pays from a checkout page of another origin, as Razorpay's frames do.
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        """Stay quiet: the fake's :attr:`FakeRazorpay.requests` is the log tests read."""
