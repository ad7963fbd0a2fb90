"""The documentation site (mkdocs.yml) builds with ``--strict``: every page in the nav, every link and anchor found.

The build (``./scripts/docs build``, as the README gives it) runs once for the module, offline, into a temporary
directory. A second, tiny site with the same
validation settings shows that a broken link and a page left out of the nav do fail a build.
"""

from __future__ import annotations

import html
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # mkdocs' own YAML library, without stubs here

import litestar_payguard
from litestar_payguard import PayGuardConfig

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CONFIG = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
_DIRECTIVE = re.compile(r"^::: ([\w.]+)$", re.MULTILINE)
_SNIPPET = re.compile(r'^--8<-- "([^"]+)"$', re.MULTILINE)


def _mkdocs(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner about its successor, not a finding
    command = [sys.executable, "-m", "mkdocs", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    # The README's command, as written there (it installs the docs group when missing).
    built = subprocess.run(
        ["./scripts/docs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    log = built.stdout + built.stderr
    assert built.returncode == 0, log
    assert "WARNING" not in log, log
    assert "excluded from the built site" not in log, log  # mkdocs reports a link to an excluded file as INFO only
    return out


def _text(site: Path, page: str) -> str:
    """A built page's text, without its markup (highlighted code is split into spans)."""
    return html.unescape(re.sub(r"<[^>]+>", "", (site / page / "index.html").read_text()))


def _nav_pages(nav: list[object]) -> list[str]:
    pages: list[str] = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += _nav_pages(value) if isinstance(value, list) else [str(value)]
    return pages


def test_every_markdown_page_is_in_the_nav_once() -> None:
    on_disk = sorted(str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md"))
    assert sorted(_nav_pages(CONFIG["nav"])) == on_disk


def test_the_site_builds_strictly_with_the_generated_configuration_reference(site: Path) -> None:
    reference = _text(site, "reference/configuration")
    for name in PayGuardConfig.policy_fields():
        assert PayGuardConfig.env_var(name) in reference
    assert "payguard: configuration reference" not in reference


def test_the_changelog_page_is_the_repository_changelog(site: Path) -> None:
    # Version headings are link references ("[0.2.0] - date"): shown with or without their brackets.
    changelog = _text(site, "changelog").replace("[", "").replace("]", "")
    headings = re.findall(r"^## (.+)$", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    assert len(headings) >= 2
    for heading in headings:
        assert heading.replace("[", "").replace("]", "") in changelog


def _rendered() -> list[object]:
    """What the API reference renders: each ``::: target`` object, and the public names of each module target."""
    targets = {target for page in (DOCS / "reference").glob("*.md") for target in _DIRECTIVE.findall(page.read_text())}
    objects: list[object] = []
    for target in targets:
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError:  # not a module: a name inside one
            parent, _, name = target.rpartition(".")
            objects.append(getattr(importlib.import_module(parent), name))
        else:
            objects += [getattr(module, name) for name in module.__all__]
    return objects


def test_the_api_reference_covers_every_exported_name() -> None:
    rendered = _rendered()
    missing = [name for name in litestar_payguard.__all__ if getattr(litestar_payguard, name) not in rendered]
    assert missing == []


def test_pages_show_the_example_files_the_tests_run(site: Path) -> None:
    included = {target for page in DOCS.rglob("*.md") for target in _SNIPPET.findall(page.read_text())}
    assert {"docs/examples/host_app.py", "docs/examples/webhook_receiver.py"} <= included
    assert all((ROOT / target).is_file() for target in included)
    first_line = "async def receive(request: Request, state: State) -> None:"
    assert first_line in _text(site, "webhooks")


def test_a_broken_link_or_a_page_left_out_of_the_nav_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# Home\n\n[gone](missing.md), [no anchor](other.md#nowhere)\n")
    (tmp_path / "docs" / "other.md").write_text("# Other\n")
    (tmp_path / "docs" / "forgotten.md").write_text("# Not in the nav\n")
    settings = {"site_name": "t", "validation": CONFIG["validation"], "nav": [{"Home": "index.md"}, "other.md"]}
    (tmp_path / "mkdocs.yml").write_text(yaml.safe_dump(settings))
    built = _mkdocs("build", "--strict", cwd=tmp_path)
    assert built.returncode != 0
    for problem in ("'missing.md'", "'#nowhere'", "forgotten.md"):
        assert problem in built.stderr, built.stderr
