"""Strict JSON bodies on payguard's routes.

Litestar converts request bodies leniently (``strict=False``): ``"amount": "100"`` would become the integer
100. For money that is too forgiving, so payguard's routers first decode each body strictly against the
type its handler declares, and refuse wrong types with the usual 422.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from litestar_payguard.schemas.base import error_field

__all__ = ("decode_body_strictly",)


async def decode_body_strictly(request: Request[Any, Any, Any]) -> None:
    """Refuse a JSON body that only a lenient conversion would accept (``before_request`` hook).

    Malformed JSON is left to Litestar's own parsing, which reports it.

    Raises:
        ValidationException: The body does not match the handler's body type without coercion.
    """
    field = request.route_handler.parsed_data_field
    if field is None:
        return
    raw = await request.body()
    try:
        msgspec.json.decode(raw, type=field.annotation, strict=True)
    except msgspec.ValidationError as exc:
        message = str(exc).split(" - at ", maxsplit=1)[0]
        raise ValidationException(
            detail=f"Validation failed for {request.method} {request.url.path}",
            extra=[{"message": message, "key": error_field(exc) or "data", "source": "body"}],
        ) from exc
    except msgspec.DecodeError:
        return
