"""What payguard's own routes promise in the OpenAPI document: who may call them, every status they answer.

The plugin describes each of its routes once the application registered it (its handler's signature is only
complete then): the security requirements of its caller, the problem-details responses its shape implies (a path
parameter can name nothing: 404; a body can be malformed: 400 and 422; an ``Idempotency-Key``: 400, 409 and 422…)
merged with the business problems its decorator declares, and the operation class that adds the headers.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from litestar_payguard.exceptions import (
    AuthenticationError,
    CustomerRequiredError,
    NotFoundError,
    ValidationFailedError,
)
from litestar_payguard.identity import InvalidCustomerError
from litestar_payguard.middleware.idempotency import UNSAFE_METHODS, route_mode
from litestar_payguard.middleware.strict_json import MalformedJsonError, UnsupportedMediaTypeError
from litestar_payguard.middleware.strict_query import QueryParameterRepeatedError
from litestar_payguard.openapi.operations import operation_class
from litestar_payguard.openapi.responses import Problem, merge_responses, problem_responses
from litestar_payguard.openapi.security import API_KEY_SCHEME, API_SECRET_SCHEME, CLIENT_SECRET_SCHEME
from litestar_payguard.services.idempotency import (
    IdempotencyKeyInUseError,
    IdempotencyKeyInvalidError,
    IdempotencyKeyRequiredError,
    IdempotencyKeyReusedError,
)
from litestar_payguard.services.merchants import InvalidCredentialsError
from litestar_payguard.services.sessions import CLIENT_SECRET_OPT
from litestar_payguard.wire_names import query_parameters

if TYPE_CHECKING:
    from litestar.handlers import HTTPRouteHandler
    from litestar.openapi.spec import SecurityRequirement
    from litestar.routes import HTTPRoute

    from litestar_payguard.config import PayGuardConfig

__all__ = ("Caller", "describe_handler", "idempotency_problems", "security_requirements")

_UNAVAILABLE: tuple[Problem, ...] = ((503, "SERVICE_UNAVAILABLE"), (503, "COMMIT_FAILED"))
_HOST_GUARD: tuple[Problem, ...] = ((401, "AUTHENTICATION_REQUIRED"), (403, "FORBIDDEN"))
_API_KEYS: tuple[Problem, ...] = (AuthenticationError, InvalidCredentialsError)


class Caller(StrEnum):
    """Who calls a route, which decides how it authenticates."""

    CUSTOMER = "customer"
    """The host's signed-in customer (the host's own authentication), for a merchant."""
    MERCHANT = "merchant"
    """The merchant's server, with ``X-Api-Key`` and ``X-Api-Secret``."""
    GATEWAY = "gateway"
    """The payment gateway: no credentials, a signature on the body instead."""
    ADMIN = "admin"
    """The host's staff (the admin guards), for a merchant."""
    OPERATOR = "operator"
    """The host's staff, for the whole deployment (no merchant)."""


def describe_handler(handler: HTTPRouteHandler, route: HTTPRoute, caller: Caller, config: PayGuardConfig) -> None:
    """Set the security, responses and operation class of one of payguard's handlers (the app's own copy)."""
    unsafe = bool(handler.http_methods & UNSAFE_METHODS)
    mode = route_mode(handler, route.path_format, config) if unsafe else "off"
    implied = problem_responses(*_caller_problems(caller, config), *_shape_problems(handler, route, mode))
    handler.responses = merge_responses(handler.responses or {}, implied)  # its own problems first
    handler.operation_class = operation_class(mode)
    one_session = bool(handler.opt.get(CLIENT_SECRET_OPT)) and "session_id" in route.path_parameters
    handler.security = security_requirements(caller, config, one_session=one_session)


def security_requirements(
    caller: Caller, config: PayGuardConfig, *, one_session: bool = False
) -> list[SecurityRequirement]:
    """The alternatives (any one will do) a caller authenticates with; an empty one means none is needed.

    ``one_session``: a route acting on one checkout session, which its client secret opens too.
    """
    if one_session:
        return [{CLIENT_SECRET_SCHEME: []}, *security_requirements(caller, config)]
    keys: SecurityRequirement = {API_KEY_SCHEME: [], API_SECRET_SCHEME: []}
    if caller is Caller.MERCHANT:
        return [keys]
    if caller is Caller.GATEWAY:
        return [{}]
    scheme = config.openapi_customer_scheme
    if caller in {Caller.ADMIN, Caller.OPERATOR}:
        scheme = config.openapi_admin_scheme or scheme
    host: SecurityRequirement = {scheme: []}
    if caller is Caller.OPERATOR:
        return [host]
    # Without a default merchant the API keys say which merchant; with one, they may still choose another.
    with_keys: SecurityRequirement = {**host, **keys}
    return [host, with_keys] if config.default_merchant_key is not None else [with_keys]


def _caller_problems(caller: Caller, config: PayGuardConfig) -> tuple[Problem, ...]:
    merchant = _API_KEYS if config.default_merchant_key is None else (InvalidCredentialsError,)
    return {
        Caller.CUSTOMER: (*merchant, CustomerRequiredError, InvalidCustomerError),
        Caller.MERCHANT: _API_KEYS,
        Caller.GATEWAY: (),
        Caller.ADMIN: (*_HOST_GUARD, *merchant),
        Caller.OPERATOR: _HOST_GUARD,
    }[caller]


def _shape_problems(handler: HTTPRouteHandler, route: HTTPRoute, mode: str) -> tuple[Problem, ...]:
    """The problems every route of this shape may answer, whatever it does."""
    problems: list[Problem] = list(_UNAVAILABLE)
    if route.path_parameters:
        problems.append(NotFoundError)
    if any(True for _ in query_parameters(handler)):
        problems += [QueryParameterRepeatedError, ValidationFailedError]
    if handler.http_methods & UNSAFE_METHODS:
        problems += [(413, "PAYLOAD_TOO_LARGE"), UnsupportedMediaTypeError]
    if handler.parsed_data_field is not None:
        problems += [MalformedJsonError, ValidationFailedError]
    problems += idempotency_problems(mode)
    return tuple(problems)


def idempotency_problems(mode: str) -> tuple[Problem, ...]:
    """What payguard's ``Idempotency-Key`` middleware may answer on a route in this mode, a host's route too.

    Args:
        mode: ``off``, ``optional`` or ``required`` (the route's ``opt={"payguard_idempotency": …}``).
    """
    if mode == "off":
        return ()
    problems: tuple[Problem, ...] = (
        *_UNAVAILABLE,
        (413, "PAYLOAD_TOO_LARGE"),
        IdempotencyKeyInvalidError,
        IdempotencyKeyInUseError,
        IdempotencyKeyReusedError,
    )
    return (*problems, IdempotencyKeyRequiredError) if mode == "required" else problems
