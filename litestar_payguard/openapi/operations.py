"""OpenAPI operations of routes whose errors are problem details, with the headers payguard sends.

Litestar builds an operation from its handler, then calls the handler's ``operation_class`` with the pieces: these
classes finish it. They drop the error responses that are not problem details (Litestar documents a 400 in its own
shape for every handler that validates input; payguard answers 422 problem details instead), declare the
headers payguard sends with some statuses, and, on a route that takes an ``Idempotency-Key``, the key and the
``Idempotent-Replayed`` header of a replayed answer.
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass, fields
from typing import ClassVar

from litestar.openapi.spec import OpenAPIHeader, OpenAPIResponse, Operation, Parameter, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType

from litestar_payguard.problems import PROBLEM_MEDIA_TYPE
from litestar_payguard.services.idempotency import KEY_HEADER, MAX_KEY_LENGTH

__all__ = ("IdempotentOperation", "KeyRequiredOperation", "ProblemOperation", "operation_class")

_SECONDS = Schema(type=OpenAPIType.INTEGER, minimum=0)
_ERROR_HEADERS: dict[int, dict[str, OpenAPIHeader]] = {
    401: {
        "WWW-Authenticate": OpenAPIHeader(
            schema=Schema(type=OpenAPIType.STRING),
            required=True,
            description='The scheme to sign in with: `ApiKey realm="payguard"` for the merchant API keys, '
            '`Host realm="payguard"` for the host application\'s own sign-in.',
        )
    },
    409: {
        "Retry-After": OpenAPIHeader(
            schema=_SECONDS, description="Seconds to wait before retrying (`IDEMPOTENCY_KEY_IN_USE`, `RETRY_TOO_SOON`)."
        )
    },
    503: {"Retry-After": OpenAPIHeader(schema=_SECONDS, required=True, description="Seconds to wait before retrying.")},
}
_REPLAYED = OpenAPIHeader(
    schema=Schema(type=OpenAPIType.STRING, enum=["true"]),
    description=f"The stored answer to an earlier request with the same `{KEY_HEADER}`; nothing ran again.",
)
# Printable ASCII; a server strips the spaces around a header value, so the key cannot start or end with one.
_KEY_SCHEMA = Schema(
    type=OpenAPIType.STRING,
    min_length=1,
    max_length=MAX_KEY_LENGTH,
    pattern=rf"^[!-~]([ -~]{{0,{MAX_KEY_LENGTH - 2}}}[!-~])?$",
)


@dataclass
class ProblemOperation(Operation):
    """An operation whose errors are problem details."""

    idempotency: ClassVar[str] = "off"
    """``off``, ``optional`` or ``required``: whether (and how) the route takes an ``Idempotency-Key``."""

    def __post_init__(self) -> None:
        responses = self.responses or {}
        for status, response in list(responses.items()):
            if not isinstance(response, OpenAPIResponse):
                continue
            code = int(status)
            if code >= 400 and PROBLEM_MEDIA_TYPE not in (response.content or {}):
                del responses[status]
                continue
            headers = dict(_ERROR_HEADERS.get(code, {}))
            if code < 300 and self.idempotency != "off":
                headers["Idempotent-Replayed"] = _REPLAYED
            if headers:
                response.headers = {**(response.headers or {}), **headers}
        self.parameters = [_without_null(parameter) for parameter in self.parameters or []] or None
        if self.idempotency != "off":
            key = Parameter(
                name=KEY_HEADER,
                param_in="header",
                required=self.idempotency == "required",
                schema=_KEY_SCHEMA,
                description="Makes the request safe to retry: the same key and request get the first answer back.",
            )
            self.parameters = [*(self.parameters or []), key]
        self._optional_body()

    def _optional_body(self) -> None:
        """A body that may be ``null`` may be left out: an optional body parameter is ``None`` then."""
        body = self.request_body
        if body is None or isinstance(body, Reference) or body.content is None:
            return
        schemas = [media.schema for media in body.content.values()]
        if all(
            isinstance(schema, Schema) and any(_is_null(option) for option in schema.one_of or []) for schema in schemas
        ):
            body.required = False


@dataclass
class IdempotentOperation(ProblemOperation):
    """A route that takes an ``Idempotency-Key``."""

    idempotency: ClassVar[str] = "optional"


@dataclass
class KeyRequiredOperation(ProblemOperation):
    """A route that refuses an unsafe request without an ``Idempotency-Key``."""

    idempotency: ClassVar[str] = "required"


def operation_class(idempotency: str) -> type[ProblemOperation]:
    """The operation class of a route with this idempotency mode (``off``, ``optional`` or ``required``)."""
    return {"off": ProblemOperation, "optional": IdempotentOperation, "required": KeyRequiredOperation}[idempotency]


def _is_null(schema: object) -> bool:
    return isinstance(schema, Schema) and schema.type == OpenAPIType.NULL


def _without_null(parameter: Parameter | Reference) -> Parameter | Reference:
    """``X | None`` as ``X``: Litestar puts the null member and the constraints (``maxLength``…) around it."""
    schema = parameter.schema if isinstance(parameter, Parameter) else None
    if not isinstance(schema, Schema) or not any(_is_null(option) for option in schema.one_of or []):
        return parameter
    assert isinstance(parameter, Parameter)
    options = [option for option in schema.one_of or [] if not _is_null(option)]
    around = {f.name: getattr(schema, f.name) for f in fields(Schema) if f.name != "one_of"}
    around = {name: constraint for name, constraint in around.items() if constraint is not None}
    if len(options) != 1:
        value: Schema | Reference = Schema(one_of=options, **around)
    elif isinstance(options[0], Reference):
        value = Schema(all_of=options, **around) if around else options[0]
    else:
        value = copy(options[0])
        for name, constraint in around.items():
            if getattr(value, name) is None:
                setattr(value, name, constraint)
    unwrapped = copy(parameter)
    unwrapped.schema = value
    return unwrapped
