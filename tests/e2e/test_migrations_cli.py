"""``litestar payguard db …`` on a fresh SQLite file, as a host runs it before starting its app."""

from __future__ import annotations

import subprocess
from pathlib import Path

from litestar_payguard import migrations
from tests.e2e.conftest import BIN, ROOT

COMMAND = [str(BIN / "litestar"), "--app", "tests.hostapp:app_from_env", "payguard", "db"]


def _db(args: list[str], tmp_path: Path, redis_url: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": str(BIN),
        "PAYGUARD_TEST_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'host.db'}",
        "PAYGUARD_TEST_QUEUE_URL": redis_url,
    }
    command = [*COMMAND, *args]
    return subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_upgrade_current_check_and_downgrade_from_the_command_line(tmp_path: Path, redis_url: str) -> None:
    before = _db(["current"], tmp_path, redis_url)
    upgraded = _db(["upgrade"], tmp_path, redis_url)
    checked = _db(["check"], tmp_path, redis_url)
    downgraded = _db(["downgrade", "--", "-1"], tmp_path, redis_url)  # "--": -1 is not an option
    behind = _db(["check"], tmp_path, redis_url)

    assert before.returncode == 0, before.stderr
    assert "current: none" in before.stdout
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"payguard's schema is at {migrations.head()}" in upgraded.stdout
    assert (checked.returncode, checked.stdout.strip()) == (0, "payguard's schema matches its models")
    assert downgraded.returncode == 0, downgraded.stderr
    assert "payguard's schema is at 0003" in downgraded.stdout
    assert behind.returncode == 1  # what 0004 adds is missing again
    assert "differs:" in behind.stdout
