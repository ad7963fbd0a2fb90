"""The admin dashboard's pages: server-rendered, autoescaped templates shipped in the package, no script at all.

Every form carries the CSRF token of Litestar's CSRF middleware (the dashboard's router runs it): a form posted
from another site is refused before it reaches a handler. Pages are sent with a policy that loads nothing but
payguard's own stylesheet and lets no site frame them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from litestar import MediaType, Response
from litestar.exceptions import HTTPException
from litestar.utils.scope.state import ScopeState

from litestar_payguard.currencies import minor_unit_digits
from litestar_payguard.exceptions import PayGuardError
from litestar_payguard.problems import KEEP_CHANGES_STATE_KEY

if TYPE_CHECKING:
    from litestar import Request

__all__ = (
    "DASHBOARD_HEADERS",
    "dashboard_error_handlers",
    "dashboard_url",
    "money",
    "refusal_page",
    "render_dashboard",
)

DASHBOARD_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
"""Nothing but payguard's stylesheet loads; forms post only to payguard; no site may frame a page."""


def dashboard_url(path: str) -> str:
    """Where the dashboard of the payguard mounted at ``path`` is."""
    return f"{path.rstrip('/')}/admin/dashboard"


def money(amount: int | None, currency: str) -> str:
    """An amount in minor units as its currency shows it: ``12.34 USD``, ``1234 JPY``, ``1.234 KWD``."""
    if amount is None:
        return ""
    digits = minor_unit_digits(currency) or 0
    if digits == 0:
        return f"{amount:,} {currency}"
    units, minor = divmod(abs(amount), 10**digits)
    sign = "-" if amount < 0 else ""
    return f"{sign}{units:,}.{minor:0{digits}d} {currency}"


def _when(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("litestar_payguard.pages", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,  # a misspelt name is an error, never an empty cell
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["money"] = money
    environment.filters["when"] = _when
    return environment


def render_dashboard(
    request: Request[Any, Any, Any], path: str, template: str, *, status_code: int = 200, **context: Any
) -> Response[str]:
    """Render a dashboard page of the payguard mounted at ``path`` (``/payguard``).

    Every page gets the dashboard's and the static files' base URLs, the request's CSRF token for its forms, a
    maker of one-time form keys (a new one for each form: :mod:`~litestar_payguard.middleware.dashboard_forms`),
    and the ``done`` notice a form's redirect left in the query.
    """
    prefix = path.rstrip("/")
    page = (
        _environment()
        .get_template(template)
        .render(
            dashboard=dashboard_url(path),
            static=f"{prefix}/static",
            csrf_token=ScopeState.from_scope(request.scope).csrf_token,
            form_key=_form_key,
            notice=request.query_params.get("done"),
            **context,
        )
    )
    return Response(page, status_code=status_code, media_type=MediaType.HTML, headers=DASHBOARD_HEADERS)


def _form_key() -> str:
    """A form's one-time key: 128 random bits."""
    return secrets.token_urlsafe(16)


Handler = Callable[["Request[Any, Any, Any]", Any], Response[Any]]
ErrorHandlers = dict[int | type[Exception], Handler]
"""Litestar's exception handlers map."""


def dashboard_error_handlers(path: str, api_handlers: Mapping[int | type[Exception], Handler]) -> ErrorHandlers:
    """The dashboard's errors as pages: payguard's refusals and Litestar's (a guard, a bad CSRF token, bad input).

    ``api_handlers`` (the API's problem documents) keep what is not a refusal (a database down: 503). The status
    stays the error's; a refusal whose service recorded a change keeps it, as in the API.
    """
    refusal = refusal_page(path)

    def refused(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        if isinstance(exc, PayGuardError):
            if exc.keep_changes:
                request.state[KEEP_CHANGES_STATE_KEY] = True
            return refusal(request, exc)
        if not isinstance(exc, HTTPException):  # an exception that only carries a status: the API's answer
            fallback = api_handlers.get(type(exc)) or api_handlers[HTTPException]
            return fallback(request, exc)
        context = {"title": HTTPStatus(exc.status_code).phrase, "detail": exc.detail, "code": None}
        return render_dashboard(request, path, "error.html", status_code=exc.status_code, **context)

    pages: ErrorHandlers = dict.fromkeys((key for key in api_handlers if isinstance(key, int)), refused)
    return {**api_handlers, **pages, PayGuardError: refused, HTTPException: refused}


def refusal_page(path: str) -> Callable[[Request[Any, Any, Any], PayGuardError], Response[Any]]:
    """Renders one of payguard's refusals as a dashboard page, with the refusal's status, title and code."""

    def page(request: Request[Any, Any, Any], exc: PayGuardError) -> Response[Any]:
        context = {"title": exc.title, "detail": _detail(exc), "code": exc.code}
        return render_dashboard(request, path, "error.html", status_code=exc.status_code, **context)

    return page


def _detail(exc: PayGuardError) -> str:
    errors = exc.extra.get("errors")
    if isinstance(errors, list) and errors:
        reasons = "; ".join(str(error.get("message", "")) for error in errors if isinstance(error, dict))
        return f"{exc.detail} {reasons}".strip()
    return exc.detail
