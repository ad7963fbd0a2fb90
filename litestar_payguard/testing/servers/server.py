"""The :class:`Server` every strategy returns, and the teardown that stops what a strategy started."""

from __future__ import annotations

import atexit
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ("Server", "Teardown", "UnavailableError", "noop")


@dataclass(frozen=True)
class Server:
    """A reachable server and the means to stop it.

    Attributes:
        url: Connection URL. Postgres: plain libpq form, e.g. ``postgresql://postgres@127.0.0.1:PORT/postgres``
            (add a driver suffix yourself if SQLAlchemy needs one). Redis: ``redis://127.0.0.1:PORT/0``.
        source: Which strategy produced it: ``"env"``, ``"docker"``, ``"local"`` or ``"wheel"``.
        stop: Stops the server and removes its temporary files. Idempotent; a no-op for ``"env"``.

    """

    url: str
    source: str
    stop: Callable[[], None] = field(repr=False, compare=False)


class UnavailableError(Exception):
    """A strategy cannot be used on this machine (as opposed to failing while it runs)."""


class Teardown:
    """Run a cleanup once: from :attr:`Server.stop` or, as a safety net, at interpreter exit."""

    def __init__(self, cleanup: Callable[[], None]) -> None:
        self._cleanup = cleanup
        self._lock = threading.Lock()
        self._done = False
        atexit.register(self)

    def __call__(self) -> None:
        """Run the cleanup, unless it ran already."""
        with self._lock:
            if self._done:
                return
            self._done = True
        atexit.unregister(self)
        self._cleanup()


def noop() -> None:
    """Stop nothing: the server belongs to someone else."""
