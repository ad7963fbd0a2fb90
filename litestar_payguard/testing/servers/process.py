"""Helpers for servers started from binaries: free ports, executables on PATH, users, child processes."""

from __future__ import annotations

import contextlib
import os
import pwd
import socket
import subprocess
import sysconfig
from pathlib import Path

__all__ = (
    "COMMAND_TIMEOUT",
    "PORT_ATTEMPTS",
    "START_TIMEOUT",
    "environment_scripts",
    "free_port",
    "is_executable",
    "is_root",
    "run",
    "tail",
    "terminate",
    "user_exists",
    "which_outside_environment",
)

START_TIMEOUT = 60.0
"""Seconds a started server has to answer."""
COMMAND_TIMEOUT = 120.0
"""Seconds a setup command (``initdb``, ``pg_ctl``) may run."""
PORT_ATTEMPTS = 3
"""Free ports tried when another process takes the chosen one before the server binds it."""


def free_port() -> int:
    """A loopback port no one listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_executable(path: Path) -> bool:
    """Whether ``path`` is a file this process may execute."""
    return path.is_file() and os.access(path, os.X_OK)


def tail(path: Path, lines: int = 40) -> str:
    """The last lines of a server's log, or why there are none."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def environment_scripts() -> Path:
    """This Python environment's scripts directory, where wheels put their binaries."""
    return Path(sysconfig.get_path("scripts")).resolve()


def which_outside_environment(name: str) -> Path | None:
    """Find ``name`` on PATH, skipping this Python environment's scripts (where wheels put binaries)."""
    scripts = environment_scripts()
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry:
            continue
        directory = Path(entry)
        with contextlib.suppress(OSError):
            if directory.resolve() == scripts:
                continue
        if is_executable(directory / name):
            return directory / name
    return None


def is_root() -> bool:
    """Whether this process runs as root."""
    return hasattr(os, "geteuid") and os.geteuid() == 0


def user_exists(name: str) -> bool:
    """Whether the system has a user called ``name``."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def run(command: list[str], *, cwd: Path, what: str) -> None:
    """Run a setup command to its end; a non-zero exit raises :class:`RuntimeError` with its output."""
    result = subprocess.run(  # noqa: S603 - fixed arguments.
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        msg = f"{what} failed with exit code {result.returncode}: {output}"
        raise RuntimeError(msg)


def terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop a child process: SIGTERM, then SIGKILL after ten seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
