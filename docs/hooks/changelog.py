"""The changelog page: ``CHANGELOG.md`` at the repository's root, included as it is, not copied.

A MkDocs hook (``mkdocs.yml``). The file links to the documentation as ``docs/<page>.md``, which works where it
lives (the repository's root, as GitHub shows it); on the site those pages sit beside the changelog, so the
``docs/`` prefix is dropped. Any other relative link stays as it is, and ``--strict`` reports it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.config.defaults import MkDocsConfig
    from mkdocs.structure.pages import Page

__all__ = ("PAGE", "on_page_markdown", "site_changelog")

PAGE = "changelog.md"
"""The page the changelog becomes, relative to the docs directory."""
_DOCS_LINK = re.compile(r"\]\(docs/")


def site_changelog(text: str) -> str:
    """Return the changelog with its links to ``docs/…`` pages made relative to the docs directory."""
    return _DOCS_LINK.sub("](", text)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, **_: Any) -> str:
    """Replace the changelog page's placeholder text with the repository's ``CHANGELOG.md``."""
    if page.file.src_uri != PAGE:
        return markdown
    root = Path(config.config_file_path).parent
    return site_changelog((root / "CHANGELOG.md").read_text(encoding="utf-8"))
