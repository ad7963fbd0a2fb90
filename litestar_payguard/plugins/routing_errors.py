"""Problem details for requests under payguard's prefix that match no route (404) or no method (405).

Litestar raises these in its application router, before any of payguard's routers is chosen, so their exception
handlers never see them. The plugin registers application-level handlers for the two status codes: a path under
``PayGuardConfig.path`` gets payguard's problem details (a 405 with its ``Allow`` header, HEAD on a GET route
included), one under the dashboard its error page, and every other path the answer the host would have given
without them (its own handler, or Litestar's default), so the host's error format is untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.exceptions import HTTPException
from litestar.exceptions.responses import create_exception_response

from litestar_payguard.pages import dashboard_error_handlers, dashboard_url
from litestar_payguard.problems import build_exception_handlers

if TYPE_CHECKING:
    from litestar import Request, Response
    from litestar.types import ExceptionHandler, ExceptionHandlersMap

    from litestar_payguard.config import PayGuardConfig

__all__ = ("ROUTING_ERROR_STATUSES", "add_routing_error_handlers")

ROUTING_ERROR_STATUSES = (404, 405)


def add_routing_error_handlers(exception_handlers: ExceptionHandlersMap, config: PayGuardConfig) -> None:
    """Register the 404 and 405 handlers in the application's ``exception_handlers`` (changed in place).

    Args:
        exception_handlers: The application's handlers, as the host configured them.
        config: payguard's configuration (its route prefix).
    """
    render = build_exception_handlers(config.path)[HTTPException]
    page = dashboard_error_handlers(config.path, build_exception_handlers(config.path))[HTTPException]
    dashboard = dashboard_url(config.path)
    # Status-code keys win over exception classes in Litestar's lookup: the host's own, if any, are kept to
    # answer its paths as before.
    previous: dict[int, ExceptionHandler[Any]] = {
        status: exception_handlers[status] for status in ROUTING_ERROR_STATUSES if status in exception_handlers
    }

    def handle_routing_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        assert isinstance(exc, HTTPException)
        path = request.scope["path"]
        root_path = request.scope.get("root_path", "")
        if root_path and path.startswith(root_path):
            path = path[len(root_path) :]
        if config.owns_path(path):
            if exc.headers and "allow" in exc.headers:
                exc.headers["allow"] = ", ".join(sorted(method.strip() for method in exc.headers["allow"].split(",")))
            if config.admin_enabled and (path == dashboard or path.startswith(f"{dashboard}/")):
                return page(request, exc)  # a person's browser: the dashboard's error page
            return render(request, exc)
        return _host_handler(request, exc, previous)(request, exc)

    for status in ROUTING_ERROR_STATUSES:
        exception_handlers[status] = handle_routing_error


def _host_handler(
    request: Request[Any, Any, Any], exc: HTTPException, previous: dict[int, ExceptionHandler[Any]]
) -> ExceptionHandler[Any]:
    """The handler Litestar would have chosen for ``exc`` had payguard not registered its own."""
    if exc.status_code in previous:
        return previous[exc.status_code]
    handler = request.scope.get("route_handler")  # absent when no route matched: only the app's handlers apply
    handlers = handler.resolve_exception_handlers() if handler is not None else request.app.exception_handlers
    return next((handlers[cls] for cls in type(exc).__mro__ if cls in handlers), _default)


def _default(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, HTTPException)
    return create_exception_response(request, exc)
