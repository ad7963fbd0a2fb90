"""The release: ``uv build`` makes a wheel (the plugin and nothing else) and an sdist; the wheel, installed into a
fresh environment, migrates a database and runs an app that takes payments."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from litestar_payguard import migrations
from litestar_payguard.testing.servers import Server
from tests.e2e.conftest import ROOT, free_port, process, uv_binary

VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

# Run inside the fresh environment, away from the repository, so only the installed wheel can answer.
IMPORT_CHECK = """
import importlib.util, sys
import litestar_payguard
from litestar_payguard import PayGuardConfig, PayGuardPlugin
plugin = PayGuardPlugin(PayGuardConfig(queue_url="redis://127.0.0.1:6379/0"))
print(litestar_payguard.__file__)
print(importlib.util.find_spec("demo_app") is None)
print(litestar_payguard.__version__)
"""

# The smallest host: a SQLite file, payguard with its worker in the process, nothing of the repository's.
MINIMAL_APP = """
import os

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig, SQLAlchemyPlugin
from litestar import Litestar

from litestar_payguard import PayGuardConfig, PayGuardPlugin

db = SQLAlchemyAsyncConfig(connection_string="sqlite+aiosqlite:///shop.db")
payguard = PayGuardConfig(
    queue_url=os.environ["REDIS_URL"],
    run_worker_in_app=True,
    worker_heartbeat_seconds=3,
    worker_shutdown_grace_seconds=2,
    admin_enabled=False,
)
app = Litestar(plugins=[SQLAlchemyPlugin(config=db), PayGuardPlugin(payguard)])
"""


def _run(command: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    # The suite runs inside the project's environment; the commands here must not see it.
    clean = {name: value for name, value in os.environ.items() if name not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    result = subprocess.run(
        command, cwd=cwd, env={**clean, **(env or {})}, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``uv build``: the wheel and the sdist, as a release makes them."""
    out = tmp_path_factory.mktemp("dist")
    _run([uv_binary(), "build", "--out-dir", str(out), str(ROOT)])
    return out


@pytest.fixture(scope="module")
def venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh environment with the wheel, pinned to the lock, and what the minimal app serves with."""
    uv, work = uv_binary(), tmp_path_factory.mktemp("venv")
    # Pinned to the lock, so the uv cache that ./scripts/test filled serves every dependency.
    constraints = work / "constraints.txt"
    _run([uv, "export", "--frozen", "--all-groups", "--no-emit-project", "--no-hashes", "-o", str(constraints)])
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(work / "venv")])
    python = work / "venv" / "bin" / "python"
    (wheel,) = dist.glob("*.whl")
    # With its SQLite extra, and a server: the host's choice, not a dependency of the plugin.
    install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), "-c", str(constraints)]
    _run([*install, f"litestar-payguard[sqlite] @ {wheel.as_uri()}", "uvicorn"])
    yield work / "venv"


def test_the_wheel_holds_only_the_plugin_and_installs_on_its_own(dist: Path, venv: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    dist_info = f"litestar_payguard-{VERSION}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"{dist_info}/METADATA").decode()
    assert wheel.name == f"litestar_payguard-{VERSION}-py3-none-any.whl"
    assert {name.split("/")[0] for name in names} == {"litestar_payguard", dist_info}
    assert "litestar_payguard/py.typed" in names
    # The pages people see ship in the wheel: the checkout page's HTML, its script and styles, checkout.js.
    assert {
        "litestar_payguard/pages/checkout.html",
        "litestar_payguard/static/checkout.js",
        "litestar_payguard/static/checkout-page.js",
        "litestar_payguard/static/checkout.css",
        # payguard's migrations: Alembic's environment, its template and every revision.
        "litestar_payguard/migrations/env.py",
        "litestar_payguard/migrations/script.py.mako",
        "litestar_payguard/migrations/versions/0001_initial.py",
        "litestar_payguard/migrations/versions/0002_checkout_pages.py",
        "litestar_payguard/migrations/versions/0003_webhook_delivery_indexes.py",
        "litestar_payguard/migrations/versions/0004_event_trace_context.py",
    } <= set(names)
    assert f"{dist_info}/entry_points.txt" not in names  # no console scripts: the demo runs from the repository
    assert "Provides-Extra: demo" not in metadata  # nor an extra for a demo the wheel does not hold
    assert {"Provides-Extra: otel", "Provides-Extra: sqlite", "Provides-Extra: postgres"} <= set(metadata.splitlines())

    location, no_demo, version = _run([str(venv / "bin" / "python"), "-c", IMPORT_CHECK], cwd=tmp_path).split()
    assert Path(location).is_relative_to(venv)
    assert (no_demo, version) == ("True", VERSION)


def test_the_sdist_holds_the_sources_the_changelog_and_the_license_terms(dist: Path) -> None:
    (sdist,) = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert sdist.name == f"litestar_payguard-{VERSION}.tar.gz"
    assert f"\n## [{VERSION}] - " in (ROOT / "CHANGELOG.md").read_text()  # the release has its changelog section
    assert {"pyproject.toml", "README.md", "CHANGELOG.md", "litestar_payguard/py.typed"} <= names
    assert "litestar_payguard/migrations/versions/0004_event_trace_context.py" in names
    assert not any(name.startswith((".venv/", ".tools/", ".payguard-demo/")) for name in names)


def test_the_installed_wheel_migrates_a_database_and_runs_a_minimal_app(
    venv: Path, tmp_path: Path, redis_server: Server
) -> None:
    (tmp_path / "shop.py").write_text(MINIMAL_APP)
    bin_, port = venv / "bin", free_port()
    env = {"REDIS_URL": redis_server.url, "PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}"}
    upgraded = _run([str(bin_ / "litestar"), "--app", "shop:app", "payguard", "db", "upgrade"], cwd=tmp_path, env=env)
    current = _run([str(bin_ / "litestar"), "--app", "shop:app", "payguard", "db", "current"], cwd=tmp_path, env=env)
    serve = [str(bin_ / "python"), "-m", "uvicorn", "shop:app", "--port", str(port), "--app-dir", str(tmp_path)]
    health = f"http://127.0.0.1:{port}/payguard/health"
    with process(serve, env=env, log=tmp_path / "app.log", ready_url=health, cwd=tmp_path):
        ready = _ready(f"http://127.0.0.1:{port}/payguard/ready")

    assert migrations.head() in upgraded + current
    assert ready.status_code == 200, ready.text
    assert {check["status"] for check in ready.json()["checks"].values()} == {"ok"}


def _ready(url: str, patience: float = 20) -> httpx.Response:
    """``/ready`` once the in-app worker's first heartbeat is in, or its last answer."""
    deadline = time.monotonic() + patience
    while True:
        response = httpx.get(url, timeout=5)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.3)
