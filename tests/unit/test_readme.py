"""The README stays true to the code: every policy variable listed, every command it shows there to run."""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

from litestar_payguard import PayGuardConfig
from tests.readme import README, ROOT, bash_blocks, command_lines, section, simple_commands

BIN = Path(sys.executable).parent  # the locked environment, what `./scripts/uv run` runs in


def test_every_policy_variable_is_listed() -> None:
    for name in PayGuardConfig.policy_fields():
        assert f"`{PayGuardConfig.env_var(name)}`" in README


def _shown(value: object) -> str:
    """A default as the README's table writes it: tuples comma-separated, whole floats without ``.0``."""
    if isinstance(value, tuple):
        return ",".join(_shown(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_every_listed_default_is_the_configurations() -> None:
    """The hand-written table (kept for GitHub readers) cannot drift from the fields the reference is made from."""
    fields = {field.name: field for field in dataclasses.fields(PayGuardConfig)}
    for name in PayGuardConfig.policy_fields():
        row = re.search(rf"^\| `{PayGuardConfig.env_var(name)}` \| ([^|]+) \|", README, re.MULTILINE)
        assert row is not None, name
        shown, field = row.group(1).strip(), fields[name]
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default  # type: ignore[misc]
        if default in (None, ()):
            assert not shown.startswith("`"), (name, shown)  # "none", "random per process": said in words
        else:
            assert shown == f"`{_shown(default)}`", (name, shown, default)


def test_the_two_commands_are_given_and_exist() -> None:
    for command in ("./scripts/demo", "./scripts/test"):
        assert command in README
        assert (ROOT / command).stat().st_mode & 0o111


def _missing_module(args: list[str]) -> str | None:
    if "-m" not in args:
        return None
    module = args[args.index("-m") + 1]
    return None if importlib.util.find_spec(module) else f"no module {module}"


def _missing_in_environment(args: list[str]) -> str | None:
    tool = next(arg for arg in args if not arg.startswith("-"))
    if not (BIN / tool).exists():
        return f"no {tool} in the locked environment"
    return _missing_module(args) if tool.startswith("python") else None


def _missing(command: list[str]) -> str | None:
    """What is missing for ``command`` to run on a fresh clone, if anything."""
    program, args = command[0], command[1:]
    if program == "uv":
        return "a fresh clone has no uv on PATH: show ./scripts/uv"
    if "/" in program:
        path = ROOT / program
        if not (path.is_file() and os.access(path, os.X_OK)):
            return "not an executable file in the repository"
        return _missing_in_environment(args[1:]) if program == "./scripts/uv" and args[:1] == ["run"] else None
    # Host-app commands (litestar …) run where the package is installed, as in this environment.
    if shutil.which(program) is None and not (BIN / program).exists():
        return "not on PATH"
    return _missing_module(args) if program.startswith("python") else None


def test_every_shell_command_refers_to_something_that_exists() -> None:
    commands = [command for line in command_lines() for command in simple_commands(line)]
    programs = {command[0] for command in commands}
    assert {"./scripts/demo", "./scripts/test", "./scripts/uv", ".ci/run", "curl", "python3", "litestar"} <= programs
    problems = [f"{' '.join(command)}: {problem}" for command in commands if (problem := _missing(command))]
    assert problems == []


def test_every_curl_that_sends_a_body_says_it_is_json() -> None:
    (walkthrough,) = bash_blocks(section("The demo"))
    assert "JSON='Content-Type: application/json'" in walkthrough.splitlines()
    curls = [command for line in command_lines() for command in simple_commands(line) if command[0] == "curl"]
    with_body = [curl for curl in curls if {"-d", "--data"} & set(curl)]
    assert len(with_body) >= 4
    for curl in with_body:
        headers = [curl[index + 1] for index, arg in enumerate(curl[:-1]) if arg == "-H"]
        assert "$JSON" in headers, curl
