"""The configuration reference (docs/hooks/config_reference.py): every field documented, every variable named."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from docs.hooks import config_reference
from docs.hooks.config_reference import MARKER, PAGE, config_fields, on_page_markdown, render
from litestar_payguard import PayGuardConfig
from litestar_payguard.config_env import POLICY, EnvPolicy

DOCS = Path(config_reference.__file__).parents[1]


def _sections(markdown: str) -> dict[str, str]:
    """Each field's section of the page, by field name."""
    parts = re.split(r"^### `(\w+)` \{#\w+\}$", markdown, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_field_of_the_config_has_a_docstring() -> None:
    documented = {item.name: item.doc for item in config_fields()}
    assert list(documented) == [item.name for item in dataclasses.fields(PayGuardConfig)]
    assert all(doc.strip() for doc in documented.values())


def test_the_page_lists_every_field_with_its_type_default_and_environment_variable() -> None:
    sections = _sections(render())
    assert sorted(sections) == sorted(item.name for item in dataclasses.fields(PayGuardConfig))
    policy = PayGuardConfig.policy_fields()
    for item in dataclasses.fields(PayGuardConfig):
        facts = sections[item.name].strip().splitlines()[0]
        assert facts.startswith(f"`{item.type}`, default `"), facts
        if item.name in policy:
            assert f"; environment `{PayGuardConfig.env_var(item.name)}`" in facts
        else:
            assert "environment" not in facts
    assert "default `SimulatedGateway()`" in sections["test_gateway"]
    assert (
        "default `(60.0, 300.0, 1800.0, 7200.0)`; environment `PAYGUARD_WEBHOOK_RETRY_SCHEDULE_SECONDS` (comma-"
        in (sections["webhook_retry_schedule_seconds"])
    )


def test_docstrings_become_markdown() -> None:
    section = _sections(render())["queue_url"]
    assert "`redis://…` or `postgres://…`" in section
    assert "``" not in render()


@dataclass
class Undocumented(EnvPolicy):
    """A config with a field that says nothing."""

    documented: int = field(default=1, metadata=POLICY)
    """This one says what it does."""
    silent: int = 2


def test_a_field_without_a_docstring_fails_the_reference() -> None:
    with pytest.raises(ValueError, match="Undocumented fields without a docstring: silent"):
        config_fields(cast("Any", Undocumented))


def _page(src_uri: str) -> Any:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


def test_the_hook_fills_the_configuration_page_and_leaves_the_others() -> None:
    page = (DOCS / PAGE).read_text()
    assert MARKER in page
    filled = on_page_markdown(page, _page(PAGE))
    assert MARKER not in filled
    assert render() in filled
    assert on_page_markdown(MARKER, _page("index.md")) == MARKER
    with pytest.raises(ValueError, match="lost its marker"):
        on_page_markdown("# Configuration reference", _page(PAGE))
