"""The configuration reference, generated from ``PayGuardConfig`` itself: its fields, types, defaults and docstrings.

A MkDocs hook (``mkdocs.yml``): the page ``reference/configuration.md`` holds :data:`MARKER`, which the hook
replaces with one table of the wiring fields and one of the policy fields with their environment variables. The
docstrings are the attribute docstrings under each field, read from the source with :mod:`ast`; the variables'
names come from :meth:`PayGuardConfig.env_var`, the one place that names them. A field without a docstring fails
the build.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import textwrap
from dataclasses import MISSING, Field, dataclass
from typing import TYPE_CHECKING, Any

from litestar_payguard import PayGuardConfig

if TYPE_CHECKING:
    from mkdocs.structure.pages import Page

__all__ = ("MARKER", "PAGE", "ConfigField", "config_fields", "field_docstrings", "on_page_markdown", "render")

MARKER = "<!-- payguard: configuration reference -->"
"""Where the generated tables go on the page."""
PAGE = "reference/configuration.md"
"""The page that holds the marker, relative to the docs directory."""
_LITERAL = re.compile(r"``([^`]+)``")
_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


@dataclass(frozen=True)
class ConfigField:
    """One field of the configuration as the reference shows it."""

    name: str
    type: str
    default: str
    doc: str
    env_var: str | None
    """``None`` for a field that only code can set (a hook, a gateway, a guard)."""
    env_format: str | None = None
    """How the variable is written when it is not a single value (``comma-separated list``)."""


def field_docstrings(cls: type) -> dict[str, str]:
    """Return the attribute docstring of each annotated field of ``cls``, by name, as written under the field."""
    (node,) = ast.parse(textwrap.dedent(inspect.getsource(cls))).body
    assert isinstance(node, ast.ClassDef)
    docs: dict[str, str] = {}
    for statement, following in zip(node.body, node.body[1:], strict=False):
        if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
            continue
        string = following.value if isinstance(following, ast.Expr) else None
        docstring = string.value if isinstance(string, ast.Constant) else None
        if isinstance(docstring, str):
            docs[statement.target.id] = inspect.cleandoc(docstring)
    return docs


def _default(field: Field[Any]) -> str:
    if field.default is not MISSING:
        return repr(field.default)
    if field.default_factory is not MISSING:
        return f"{getattr(field.default_factory, '__name__', 'factory')}()"
    return "required"


def config_fields(cls: type[PayGuardConfig] = PayGuardConfig) -> list[ConfigField]:
    """Return every field of ``cls`` in declaration order, documented.

    Raises:
        ValueError: A field has no docstring: every setting a host can pass must say what it does.
    """
    docs = field_docstrings(cls)
    missing = [field.name for field in dataclasses.fields(cls) if not docs.get(field.name)]
    if missing:
        msg = f"{cls.__name__} fields without a docstring: {', '.join(missing)}"
        raise ValueError(msg)
    policy = cls.policy_fields()
    return [
        ConfigField(
            name=field.name,
            type=str(field.type),
            default=_default(field),
            doc=docs[field.name],
            env_var=cls.env_var(field.name) if field.name in policy else None,
            env_format=field.metadata.get("kind") if field.metadata.get("parse", str) is not str else None,
        )
        for field in dataclasses.fields(cls)
    ]


def _markdown(text: str) -> str:
    """A docstring's text as Markdown: reST literals and roles (``x``, :class:`x`) become code spans."""
    return _ROLE.sub(r"`\1`", _LITERAL.sub(r"`\1`", text))


def _section(field: ConfigField) -> list[str]:
    """One field: a heading to link to, its type and default (and variable), then its docstring."""
    facts = f"`{field.type}`, default `{field.default}`"
    if field.env_var is not None:
        facts += f"; environment `{field.env_var}`" + (f" ({field.env_format})" if field.env_format else "")
    return [f"### `{field.name}` {{#{field.name}}}", "", facts, "", _markdown(field.doc), ""]


def render(cls: type[PayGuardConfig] = PayGuardConfig) -> str:
    """Return the reference as Markdown: the wiring fields, then the policy fields with their variables."""
    fields = config_fields(cls)
    lines = ["## Wiring and hooks", "", "Set in code only: they name the host's objects (queue, guards, hooks).", ""]
    lines += [line for field in fields if field.env_var is None for line in _section(field)]
    lines += [
        "## Policy",
        "",
        "Production defaults; each can also be set with its environment variable when the host applies "
        "`PayGuardConfig(...).with_env()`.",
        "",
    ]
    lines += [line for field in fields if field.env_var is not None for line in _section(field)]
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Page, **_: Any) -> str:
    """Put the generated reference where the configuration page asks for it."""
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        msg = f"{PAGE} lost its marker {MARKER!r}: the configuration reference has nowhere to go"
        raise ValueError(msg)
    return markdown.replace(MARKER, render())
