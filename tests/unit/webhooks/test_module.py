"""litestar_payguard.webhooks stays a leaf: merchants' backends use it, so it needs nothing of payguard's."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import litestar_payguard.webhooks as module

SOURCE = Path(module.__file__).read_text()


def imported_roots(source: str) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add("." if node.level else (node.module or "").split(".")[0])
    return roots


def test_the_module_imports_only_the_standard_library_and_msgspec() -> None:
    outside = imported_roots(SOURCE) - set(sys.stdlib_module_names) - {"__future__", "msgspec"}
    assert outside == set()


def test_the_check_sees_an_import_of_payguard() -> None:
    assert imported_roots("from litestar_payguard.models import Payment\nfrom . import x\n") - {"msgspec"} == {
        "litestar_payguard",
        ".",
    }


def test_the_public_names_are_documented() -> None:
    assert module.__doc__ is not None
    assert "public module" in module.__doc__
    for name in module.__all__:
        value = getattr(module, name)
        assert isinstance(value, str) or value.__doc__, name
