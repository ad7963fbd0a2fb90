"""The README stays true to the code: every policy variable listed, the two commands given."""

from __future__ import annotations

from pathlib import Path

from litestar_payguard import PayGuardConfig

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_policy_variable_is_listed() -> None:
    for name in PayGuardConfig.policy_fields():
        assert f"`{PayGuardConfig.env_var(name)}`" in README


def test_the_two_commands_are_given_and_exist() -> None:
    root = Path(__file__).resolve().parents[2]
    for command in ("./scripts/demo", "./scripts/test"):
        assert command in README
        assert (root / command).stat().st_mode & 0o111
