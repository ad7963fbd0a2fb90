"""The published wheel: the plugin and nothing else, installable and importable on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.e2e.conftest import ROOT, uv_binary

# Run inside the fresh environment, away from the repository, so only the installed wheel can answer.
IMPORT_CHECK = """
import importlib.util, sys
import litestar_payguard
from litestar_payguard import PayGuardConfig, PayGuardPlugin
plugin = PayGuardPlugin(PayGuardConfig(queue_url="redis://127.0.0.1:6379/0"))
print(litestar_payguard.__file__)
print(importlib.util.find_spec("demo_app") is None)
"""


def _run(command: list[str], *, cwd: Path = ROOT) -> str:
    # The suite runs inside the project's environment; the commands here must not see it.
    env = {name: value for name, value in os.environ.items() if name not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}{result.stderr}"
    return result.stdout


def test_the_wheel_holds_only_the_plugin_and_installs_on_its_own(tmp_path: Path) -> None:
    uv = uv_binary()
    _run([uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(ROOT)])
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"{dist_info}/METADATA").decode()
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
    } <= set(names)
    assert f"{dist_info}/entry_points.txt" not in names  # no console scripts: the demo runs from the repository
    assert "Provides-Extra: demo" not in metadata  # nor an extra for a demo the wheel does not hold

    # Pinned to the lock, so the uv cache that ./scripts/test filled serves every dependency.
    constraints = tmp_path / "constraints.txt"
    _run([uv, "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes", "-o", str(constraints)])
    venv = tmp_path / "venv"
    _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)])
    python = venv / "bin" / "python"
    _run([uv, "pip", "install", "--quiet", "--python", str(python), "-c", str(constraints), str(wheel)])

    location, no_demo = _run([str(python), "-c", IMPORT_CHECK], cwd=tmp_path).split()
    assert Path(location).is_relative_to(venv)
    assert no_demo == "True"
