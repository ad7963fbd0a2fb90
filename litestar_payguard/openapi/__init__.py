"""The OpenAPI document as a contract: problem-details responses, security schemes, constraints as enforced.

payguard describes its own routes itself. A host route that answers payguard's problem details, or opts in to its
``Idempotency-Key`` middleware, says so with :func:`problem_responses` (and :func:`idempotency_problems`) and an
:func:`operation_class`.
"""

from litestar_payguard.openapi.operations import (
    IdempotentOperation,
    KeyRequiredOperation,
    ProblemOperation,
    operation_class,
)
from litestar_payguard.openapi.responses import Problem, ProblemResponse, merge_responses, problem_responses
from litestar_payguard.openapi.routes import idempotency_problems
from litestar_payguard.openapi.schemas import PayGuardSchemaPlugin
from litestar_payguard.openapi.security import API_KEY_SCHEME, API_SECRET_SCHEME, with_security_schemes

__all__ = (
    "API_KEY_SCHEME",
    "API_SECRET_SCHEME",
    "IdempotentOperation",
    "KeyRequiredOperation",
    "PayGuardSchemaPlugin",
    "Problem",
    "ProblemOperation",
    "ProblemResponse",
    "idempotency_problems",
    "merge_responses",
    "operation_class",
    "problem_responses",
    "with_security_schemes",
)
