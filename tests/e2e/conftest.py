"""End-to-end fixtures: real processes (the demo, CLI workers) talking over real sockets."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO = [sys.executable, "-m", "demo_app"]
"""The demo's command; ``process`` runs it from the repository root, as ``./scripts/demo`` does."""


def uv_binary() -> str:
    """The uv that ``./scripts/test`` exports as ``$UV``, else one on PATH."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        pytest.fail("no uv: run the suite with ./scripts/test (it exports $UV) or put uv on PATH")
    return uv


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def process(
    command: list[str],
    *,
    env: Mapping[str, str],
    log: Path,
    ready_url: str | None = None,
    timeout: float = 60,
    cwd: Path = ROOT,
    inherit_env: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a command until the block ends; wait for ``ready_url`` to answer first. Stopped with SIGINT.

    ``env`` is added to this process's environment, or is the whole environment without ``inherit_env``.
    """
    environment = {**os.environ, **env} if inherit_env else dict(env)
    with log.open("wb") as output:
        proc = subprocess.Popen(command, cwd=cwd, env=environment, stdout=output, stderr=subprocess.STDOUT)
    try:
        if ready_url is not None:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{command[0]} exited with {proc.returncode}:\n{log.read_text()}")
                try:
                    if httpx.get(ready_url, timeout=1).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[0]} did not answer {ready_url}:\n{log.read_text()}")
                time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
