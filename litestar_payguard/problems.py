"""RFC 9457 problem-details responses for payguard's routes.

Every error leaving a payguard route is ``application/problem+json`` with a stable ``code``. The handlers
are registered on payguard's routers only, so the host's own error format is untouched.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import msgspec
from advanced_alchemy.exceptions import RepositoryError
from litestar import Request, Response
from litestar.exceptions import ClientException, HTTPException, SerializationException, ValidationException
from litestar.types import ExceptionHandlersMap
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from litestar_payguard.exceptions import HOST_CHALLENGE, PayGuardError
from litestar_payguard.wire_names import wire_name

if TYPE_CHECKING:
    from litestar.types import HTTPResponseBodyEvent, HTTPResponseStartEvent, Message

__all__ = (
    "KEEP_CHANGES_STATE_KEY",
    "PROBLEM_MEDIA_TYPE",
    "RETRY_AFTER_SECONDS",
    "build_exception_handlers",
    "error_body",
    "is_infrastructure_error",
    "problem_body",
    "problem_messages",
    "unavailable_body",
)

logger = logging.getLogger("litestar_payguard")

PROBLEM_MEDIA_TYPE = "application/problem+json"
KEEP_CHANGES_STATE_KEY = "payguard_keep_changes"
"""Request state flag: the error response must commit the transaction (the service recorded a change)."""
RETRY_AFTER_SECONDS = 5

_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "AUTHENTICATION_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
}


def problem_body(
    *, status: int, code: str, title: str, detail: str, instance: str | None = None, **members: Any
) -> dict[str, Any]:
    """Build a problem-details document; ``members`` are extension members (``actions``, ``errors``…)."""
    body: dict[str, Any] = {
        "type": f"urn:payguard:problem:{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    body.update({key: value for key, value in members.items() if value is not None})
    return body


def error_body(exc: PayGuardError, *, prefix: str, instance: str) -> dict[str, Any]:
    """Render a payguard error as a problem document; action paths become absolute under ``prefix``."""
    actions = {
        name: {"method": action.method, "url": f"{prefix}{action.path}", "label": action.label}
        for name, action in exc.actions.items()
    }
    return problem_body(
        status=exc.status_code,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        instance=instance,
        actions=actions or None,
        **exc.extra,
    )


def unavailable_body(instance: str, *, code: str = "SERVICE_UNAVAILABLE", detail: str | None = None) -> dict[str, Any]:
    """The problem document of a backing service being down (sent with ``Retry-After``)."""
    return problem_body(
        status=503,
        code=code,
        title="Service unavailable",
        detail=detail or "A backing service is unavailable. Retry later.",
        instance=instance,
    )


def problem_messages(body: dict[str, Any], headers: Mapping[str, str] | None = None) -> list[Message]:
    """The ASGI messages of a problem response, for middleware that answers without a handler."""
    content = msgspec.json.encode(body)
    raw_headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(content)).encode()),
        *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()),
    ]
    start: HTTPResponseStartEvent = {"type": "http.response.start", "status": body["status"], "headers": raw_headers}
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": content, "more_body": False}
    return [start, end]


def _response(body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response[Any]:
    return Response(
        content=body, status_code=body["status"], media_type=PROBLEM_MEDIA_TYPE, headers=dict(headers or {})
    )


def is_infrastructure_error(exc: BaseException) -> bool:
    """Tell whether an exception means a backing service is down rather than a bug or bad input."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, RedisConnectionError | RedisTimeoutError | ConnectionError | TimeoutError)


def _unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.warning("payguard: backing service unavailable on %s %s: %r", request.method, request.url.path, exc)
    return _response(unavailable_body(request.url.path), {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    logger.error("payguard: unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = problem_body(
        status=500,
        code="INTERNAL_ERROR",
        title="Internal server error",
        detail="An unexpected error occurred.",
        instance=request.url.path,
    )
    return _response(body)


def _validation_errors(request: Request[Any, Any, Any], exc: ValidationException) -> list[dict[str, Any]]:
    errors: list[dict[str, Any]] = []
    handler = request.scope.get("route_handler")
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        key, message = item.get("key"), str(item.get("message", ""))
        if key == "data" and message == "'data'":
            message = "A JSON request body is required."
        # Litestar names a parameter by its Python name; the client knows it by its wire name.
        field = None if key == "data" else wire_name(handler, key) if isinstance(key, str) else key
        errors.append({"field": field, "source": item.get("source"), "message": message})
    return errors


def _http_problem(request: Request[Any, Any, Any], exc: HTTPException) -> dict[str, Any]:
    """The problem document of a client error (status below 500) raised by Litestar or the host."""
    if isinstance(exc, ValidationException):
        return problem_body(
            status=422,
            code="VALIDATION_FAILED",
            title="Validation failed",
            detail="The request does not match the expected schema.",
            instance=request.url.path,
            errors=_validation_errors(request, exc),
        )
    if isinstance(exc, ClientException) and isinstance(exc.__cause__, SerializationException):
        return problem_body(
            status=400, code="MALFORMED_JSON", title="Malformed JSON", detail=str(exc.detail), instance=request.url.path
        )
    status = exc.status_code
    return problem_body(
        status=status,
        code=_HTTP_CODES.get(status, f"HTTP_{status}"),
        title=HTTPStatus(status).phrase,
        detail=str(exc.detail),
        instance=request.url.path,
    )


def _handle_http_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_infrastructure_error(exc) or is_infrastructure_error(exc.__cause__ or exc):
        return _unavailable(request, exc)
    if not isinstance(exc, HTTPException) or exc.status_code >= 500:
        return _internal(request, exc)
    headers = dict(exc.headers or {})
    if exc.status_code == 401 and not any(name.lower() == "www-authenticate" for name in headers):
        headers["WWW-Authenticate"] = HOST_CHALLENGE  # the host's guard refused: its own sign-in applies
    return _response(_http_problem(request, exc), headers)


def _handle_other(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_infrastructure_error(exc):
        return _unavailable(request, exc)
    return _internal(request, exc)


_UNEXPECTED_ERRORS: tuple[type[Exception], ...] = (SQLAlchemyError, RepositoryError, RedisError, OSError, Exception)
"""Answered 503 when a backing service is down, else 500.

The classes below Exception are listed because hosts (and advanced-alchemy, for RepositoryError) register
app-level handlers for them; a more specific class in the exception's MRO would otherwise win.
"""
_CLAIMED_STATUSES: tuple[int, ...] = (*_HTTP_CODES, 409, 422, 500, 503)
"""Answered as HTTP exceptions.

Status-code keys take precedence over exception classes in Litestar's lookup, so payguard claims them too: a
host's app-level handler for, say, 400 must not reformat payguard's errors.
"""


def build_exception_handlers(prefix: str) -> ExceptionHandlersMap:
    """Return the exception handlers of payguard's routers.

    Args:
        prefix: payguard's route prefix, to make action paths absolute.
    """

    def handle_payguard_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        assert isinstance(exc, PayGuardError)
        if exc.keep_changes:
            request.state[KEEP_CHANGES_STATE_KEY] = True
        return _response(error_body(exc, prefix=prefix, instance=request.url.path), exc.headers)

    handlers: dict[int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]] = {
        PayGuardError: handle_payguard_error,
        HTTPException: _handle_http_exception,
        **dict.fromkeys(_UNEXPECTED_ERRORS, _handle_other),
        **dict.fromkeys(_CLAIMED_STATUSES, _handle_http_exception),
    }
    return handlers
