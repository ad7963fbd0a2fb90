"""Strict input on payguard's routes: JSON content types, strict JSON bodies, strict query parameters.

Litestar converts request bodies leniently (``strict=False``): ``"amount": "100"`` would become the integer
100. For money that is too forgiving, so payguard's routers first decode each body strictly against the
type its handler declares, and refuse wrong types with the usual 422.

An unsafe request must also say that it carries JSON: an HTML form can post ``text/plain``,
``application/x-www-form-urlencoded`` or ``multipart/form-data`` to another site without a CORS preflight,
with the victim's cookies, and a body of any type would be read as JSON. So a payguard route answers 415 to a
request whose ``Content-Type`` is not JSON, and to a body without a ``Content-Type`` at all (a cross-site
``fetch`` of a typeless blob sends none). A request with neither a body nor a ``Content-Type`` (``resume``,
``cancel``…) passes: a cross-site form always sends one.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from litestar_payguard.exceptions import PayGuardError, ValidationFailedError
from litestar_payguard.middleware.strict_query import check_query
from litestar_payguard.runtime import payguard_of
from litestar_payguard.schemas.base import error_field, error_message
from litestar_payguard.schemas.sessions import MAX_SAFE_INTEGER
from litestar_payguard.services.payments import AmountTooLargeError

__all__ = (
    "JSON_MEDIA_TYPE",
    "MalformedJsonError",
    "UnsupportedMediaTypeError",
    "check_content_type",
    "check_request",
    "decode_body_strictly",
    "is_json_media_type",
)

JSON_MEDIA_TYPE = "application/json"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_AMOUNT = "amount"
"""The wire name of every money field of payguard's request bodies."""


class MalformedJsonError(PayGuardError):
    """The body is not JSON (bad syntax, or bytes that are not UTF-8)."""

    status_code = 400
    code = "MALFORMED_JSON"
    title = "Malformed JSON"


class UnsupportedMediaTypeError(PayGuardError):
    """An unsafe request whose body is not declared as JSON."""

    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    title = "Unsupported media type"


async def check_request(request: Request[Any, Any, Any]) -> None:
    """The ``before_request`` hook of payguard's routers: content type, query parameters, then the body.

    Raises:
        UnsupportedMediaTypeError: An unsafe request that does not declare a JSON body.
        QueryParameterRepeatedError: A single-valued query parameter given more than once.
        ValidationFailedError: A query parameter or the body does not match its type without coercion.
        MalformedJsonError: The body is not JSON.
        AmountTooLargeError: An amount above what payguard accepts.
    """
    await check_content_type(request)
    check_query(request)
    await decode_body_strictly(request)


def is_json_media_type(media_type: str, options: dict[str, str]) -> bool:
    """Whether a parsed ``Content-Type`` is JSON (``application/json`` or ``application/<x>+json``) in UTF-8."""
    kind, _, subtype = media_type.partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        return False
    # JSON is UTF-8 (RFC 8259); a body declared in another charset would be misread.
    return options.get("charset", "utf-8").strip().lower() in {"utf-8", "utf8"}


async def check_content_type(request: Request[Any, Any, Any]) -> None:
    """Refuse an unsafe request that carries something other than JSON.

    Raises:
        UnsupportedMediaTypeError: A ``Content-Type`` that is not JSON, or a body without one.
    """
    if request.method not in _UNSAFE_METHODS:
        return
    if "content-type" in request.headers:
        media_type, options = request.content_type
        if is_json_media_type(media_type, options):
            return
        detail = f"Send the body as {JSON_MEDIA_TYPE}, not {media_type or 'an empty Content-Type'}."
    elif await request.body():
        detail = f"The body has no Content-Type: send it as {JSON_MEDIA_TYPE}."
    else:
        return
    raise UnsupportedMediaTypeError(detail, extra={"supportedMediaTypes": [JSON_MEDIA_TYPE]})


async def decode_body_strictly(request: Request[Any, Any, Any]) -> None:
    """Refuse a JSON body that only a lenient conversion would accept.

    An empty body is left to Litestar, which reports a missing one (or passes it to an optional body).

    Raises:
        MalformedJsonError: The body is not JSON, or not UTF-8.
        AmountTooLargeError: An amount above ``PayGuardConfig.max_amount`` (or what JSON clients represent).
        ValidationFailedError: The body does not match the handler's body type without coercion.
    """
    field = request.route_handler.parsed_data_field
    if field is None:
        return
    raw = await request.body()
    if not raw:
        return
    try:
        msgspec.json.decode(raw, type=field.annotation, strict=True)
    except msgspec.ValidationError as exc:
        # The typed decoding stops at the first wrong type, before reading the rest: that may not be JSON at all.
        document = _untyped(raw)
        if "got `float`" in str(exc) and _valid_with_integral_numbers(document, field.annotation):
            return
        wire = error_field(exc)
        if wire == _AMOUNT:
            _check_amount(request, document)
        errors = [{"field": wire, "source": "body", "message": error_message(exc)}]
        msg = "The request does not match the expected schema."
        raise ValidationFailedError(msg, extra={"errors": errors}) from exc
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # msgspec reports bad UTF-8 in a string this way
        raise _malformed() from exc


def _malformed() -> MalformedJsonError:
    return MalformedJsonError("The body is not valid JSON (UTF-8).")


def _untyped(raw: bytes) -> Any:
    """The JSON document without a type; ``None`` for a number beyond a float (1e400) or nesting beyond a stack.

    Raises:
        MalformedJsonError: The body is not JSON.
    """
    try:
        return msgspec.json.decode(raw)
    except (msgspec.ValidationError, RecursionError):  # ValidationError first: it is a DecodeError too
        return None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise _malformed() from exc


def _valid_with_integral_numbers(document: Any, annotation: Any) -> bool:
    """Whether the body is valid once its integral numbers are integers.

    JSON has one kind of number, and the OpenAPI document's JSON Schema counts ``4900.0`` (or ``49e2``) as the
    integer 4900: so does payguard. ``4900.5`` is still refused, and so is ``"4900"``.
    """
    if document is None:
        return False
    try:
        msgspec.convert(_integers(document), annotation, strict=True)
    except msgspec.ValidationError:
        return False
    return True


def _integers(value: Any) -> Any:
    """The JSON value with every float that has no fractional part as an ``int``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integers(item) for item in value]
    return value


def _check_amount(request: Request[Any, Any, Any], document: Any) -> None:
    """Report an amount refused by the schema's bound as too large, with the maximum that applies."""
    amount = _integers(document.get(_AMOUNT)) if isinstance(document, dict) else None
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= MAX_SAFE_INTEGER:
        return
    maximum = min(payguard_of(request.scope).config.max_amount, MAX_SAFE_INTEGER)
    msg = f"The amount is above the maximum of {maximum} minor units."
    raise AmountTooLargeError(msg, extra={"field": _AMOUNT, "maximum": maximum})
