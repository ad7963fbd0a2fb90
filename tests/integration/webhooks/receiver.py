"""A merchant's webhook receiver on 127.0.0.1 for the delivery tests: it answers as told and records every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    at: float
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    """What the receiver answers: a status, headers, a body, and an optional pause before answering."""

    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    body: bytes = b"ok"


@dataclass
class Receiver:
    """The receiver's script (answers in order; the last one repeats) and what it received."""

    url: str
    answers: list[Answer] = field(default_factory=lambda: [Answer()])
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> Answer:
        with self.lock:
            return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def most_at_once(self, pause: float) -> int:
        """The most requests that arrived within less than ``pause`` of each other (a receiver answering after
        ``pause`` holds that many at once)."""
        times = sorted(request.at for request in self.received)
        return max((sum(1 for t in times if start <= t < start + pause * 0.8) for start in times), default=0)

    def by_id(self) -> dict[str, int]:
        """How many requests came per ``webhook-id``."""
        counts: dict[str, int] = {}
        for request in self.received:
            counts[request.headers["webhook-id"]] = counts.get(request.headers["webhook-id"], 0) + 1
        return counts


@contextmanager
def receiver(*answers: Answer) -> Iterator[Receiver]:
    """Serve a receiver on a free port of 127.0.0.1 for the duration of the block."""
    state: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {key.lower(): value for key, value in self.headers.items()}
            answer = state.next_answer()
            with state.lock:
                state.received.append(Received(time.monotonic(), self.path, headers, body))
            time.sleep(answer.delay)
            try:
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)
            except (BrokenPipeError, ConnectionResetError):  # the sender gave up (a timeout test)
                pass

        def log_message(self, *_: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state = Receiver(url=f"http://127.0.0.1:{server.server_port}/hooks", answers=list(answers) or [Answer()])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
