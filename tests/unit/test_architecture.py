"""The package's architecture contract (docs/architecture.md), checked on every run.

The layer order, the direction between domain packages, the faces and "no import cycle" are import-linter
contracts in ``pyproject.toml``; the sizes and names are checked here, on the source files themselves.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "litestar_payguard"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 50
DOMAIN_PREFIXES = ("session", "payment", "cleanup", "refund", "processing", "pending", "webhook", "gateway_event")


def run_lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter's command on the ``pyproject.toml`` in ``cwd``, the way a developer does."""
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; c()"]
    return subprocess.run([*command, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_every_import_contract_is_kept() -> None:
    result = run_lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: \d+ kept, 0 broken", result.stdout), result.stdout


def test_the_contracts_break_on_a_cycle_and_on_a_layer_turned_upside_down(tmp_path: Path) -> None:
    """The checker is not vacuous: a small package breaking both kinds of contract fails it."""
    package = tmp_path / "shop"
    (package / "low").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "high.py").write_text("from shop import low\n")
    (package / "low" / "__init__.py").write_text("from shop import high\n")
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent("""
        [tool.importlinter]
        root_package = "shop"

        [[tool.importlinter.contracts]]
        name = "acyclic"
        type = "acyclic_siblings"
        ancestors = ["shop"]

        [[tool.importlinter.contracts]]
        name = "layers"
        type = "layers"
        layers = ["shop.high", "shop.low"]
        """)
    )
    result = run_lint_imports(tmp_path)
    assert result.returncode != 0
    assert "Contracts: 0 kept, 2 broken" in result.stdout, result.stdout


def import_cycles(package: str) -> list[list[str]]:
    """Every set of modules that import one another in a ring (Tarjan's strongly connected components)."""
    graph = grimp.build_graph(package, cache_dir=None)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            ring = []
            while (member := stack.pop()) != module:
                ring.append(member)
            if ring:
                cycles.append(sorted([*ring, module]))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return cycles


def test_no_module_imports_itself_through_others() -> None:
    """No cycle at module level either, a package's ``__init__`` included (the siblings contract sees packages)."""
    assert import_cycles("litestar_payguard") == []


def test_the_cycle_finder_finds_a_ring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "ring"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from ring import b\n")
    (package / "b.py").write_text("from ring import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("ring") == [["ring.a", "ring.b"]]


def sources() -> list[Path]:
    # Migration revisions are generated, then frozen: their size is the schema's, not a design choice.
    return sorted(path for path in PACKAGE.rglob("*.py") if "migrations/versions" not in path.as_posix())


@pytest.mark.parametrize("path", sources(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_modules_are_small(path: Path) -> None:
    lines = path.read_text().count("\n")
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(ROOT)} has {lines} lines"


def code_lines(source: list[str], function: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of ``function`` that hold code: no blank lines, comments or multi-line strings (SQL, docstrings)."""
    text_lines: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.end_lineno != node.lineno:
            text_lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    first = function.decorator_list[0].lineno if function.decorator_list else function.lineno
    return sum(
        1
        for number in range(first, (function.end_lineno or first) + 1)
        if number not in text_lines and source[number - 1].strip() and not source[number - 1].lstrip().startswith("#")
    )


def test_functions_are_short() -> None:
    long = []
    for path in sources():
        text = path.read_text()
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                size = code_lines(text.splitlines(), node)
                if size > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({size} lines)")
    assert long == []


def test_services_has_no_file_named_by_a_domain() -> None:
    """A domain is a package with a face, not a family of files sharing a prefix."""
    files = [path.stem for path in (PACKAGE / "services").glob("*.py") if path.stem != "__init__"]
    assert [name for name in files if name.startswith(DOMAIN_PREFIXES)] == []
