"""The README's shell commands, found the way a reader copies them: ``bash`` blocks and inline commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()

# Besides a path in the repository, what an inline code span starts with when it is a command to type.
PROGRAMS = frozenset({"bash", "curl", "litestar", "python", "python3", "uv"})
_BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
_ANY_BLOCK = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`")
_SEPARATORS = frozenset({"|", "||", "&&", ";", "&", "(", ")"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def section(heading: str) -> str:
    """The README's text under ``## heading``, up to the next heading of that level."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", README, re.MULTILINE | re.DOTALL)
    assert match is not None, f"the README has no section {heading!r}"
    return match.group(1)


def bash_blocks(text: str = README) -> list[str]:
    """The fenced ``bash`` blocks of ``text``."""
    return _BASH_BLOCK.findall(text)


def command_lines(text: str = README) -> list[str]:
    """Every shell command line in ``text``: the lines of its bash blocks, and inline code that is a command."""
    lines = [line for block in bash_blocks(text) for line in block.splitlines() if line.strip()]
    for span in _INLINE.findall(_ANY_BLOCK.sub("", text)):
        first = span.split()[0]
        if first.startswith(("./", ".ci/")) or first in PROGRAMS:
            lines.append(span)
    return lines


def simple_commands(line: str) -> list[list[str]]:
    """Split a command line into its simple commands (pipelines, lists, ``$(…)``), leading assignments dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands: list[list[str]] = [[]]
    for token in lexer:
        if token in _SEPARATORS:
            commands.append([])
        elif commands[-1] or not _ASSIGNMENT.match(token):
            commands[-1].append(token)
    return [command for command in commands if command]
