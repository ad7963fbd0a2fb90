"""Problem-details responses in the OpenAPI document: one per status, naming the problem codes it carries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

from litestar.openapi import ResponseSpec

from litestar_payguard.exceptions import PayGuardError
from litestar_payguard.problems import PROBLEM_MEDIA_TYPE
from litestar_payguard.schemas.problems import ProblemDetails

__all__ = ("Problem", "ProblemResponse", "merge_responses", "problem_responses")

Problem = int | tuple[int, str] | type[PayGuardError]
"""What a route may answer with: a status, a status and a problem code, or a payguard error class."""


@dataclass
class ProblemResponse(ResponseSpec):
    """A response of ``application/problem+json`` with the :class:`ProblemDetails` schema."""

    codes: tuple[str, ...] = ()
    """The problem codes it may carry, listed in its description."""


def problem_responses(*problems: Problem) -> dict[int, ResponseSpec]:
    """The ``responses=`` of a route handler that answers these problems.

    Example::

        @post("/orders", responses=problem_responses(NotFoundError, (409, "OUT_OF_STOCK"), 503))
    """
    codes: dict[int, list[str]] = {}
    for problem in problems:
        status, code = _status_and_code(problem)
        listed = codes.setdefault(status, [])
        if code is not None and code not in listed:
            listed.append(code)
    return {status: _response(status, tuple(listed)) for status, listed in sorted(codes.items())}


def merge_responses(*responses: Mapping[int, ResponseSpec]) -> dict[int, ResponseSpec]:
    """Combine ``responses=`` maps: a status in several lists the codes of all; another response wins as given."""
    merged: dict[int, ResponseSpec] = {}
    for mapping in responses:
        for status, response in mapping.items():
            previous = merged.get(status)
            if isinstance(previous, ProblemResponse) and isinstance(response, ProblemResponse):
                codes = previous.codes + tuple(code for code in response.codes if code not in previous.codes)
                merged[status] = _response(status, codes)
            else:
                merged[status] = response
    return dict(sorted(merged.items()))


def _status_and_code(problem: Problem) -> tuple[int, str | None]:
    if isinstance(problem, int):
        return problem, None
    if isinstance(problem, tuple):
        return problem
    return problem.status_code, problem.code


def _response(status: int, codes: tuple[str, ...]) -> ProblemResponse:
    phrase = HTTPStatus(status).phrase
    description = f"{phrase}: " + ", ".join(f"`{code}`" for code in codes) if codes else phrase
    return ProblemResponse(
        data_container=ProblemDetails,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
        codes=codes,
    )
