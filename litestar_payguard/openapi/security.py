"""The security schemes payguard's routes name: the merchant API keys, and the host's own sign-in."""

from __future__ import annotations

from copy import copy
from typing import TYPE_CHECKING

from litestar.openapi.spec import Components, Reference, SecurityScheme

from litestar_payguard.identity import API_KEY_HEADER, API_SECRET_HEADER
from litestar_payguard.services.sessions import CLIENT_SECRET_HEADER

if TYPE_CHECKING:
    from litestar.openapi import OpenAPIConfig

    from litestar_payguard.config import PayGuardConfig

__all__ = ("API_KEY_SCHEME", "API_SECRET_SCHEME", "CLIENT_SECRET_SCHEME", "with_security_schemes")

API_KEY_SCHEME = "payguardApiKey"
API_SECRET_SCHEME = "payguardApiSecret"  # noqa: S105  # a scheme's name, not a secret
CLIENT_SECRET_SCHEME = "payguardClientSecret"  # noqa: S105  # a scheme's name, not a secret
_HOST_SIGN_IN = (
    "The host application's authentication: payguard asks the host who is calling ({hook}). A host names its own "
    "scheme with PayGuardConfig.{setting}."
)


def with_security_schemes(openapi: OpenAPIConfig, config: PayGuardConfig) -> OpenAPIConfig:
    """The host's OpenAPI config with payguard's security schemes added to its components.

    A scheme the host already defines under one of those names is the host's (that is how a host describes its own
    sign-in: ``PayGuardConfig.openapi_customer_scheme`` names it). The host's config object is left as it is: it may be
    shared, like Litestar's default one.
    """
    components = openapi.components if isinstance(openapi.components, list) else [openapi.components]
    defined = {name for component in components for name in component.security_schemes or {}}
    missing: dict[str, SecurityScheme | Reference] = {
        name: scheme for name, scheme in _schemes(config).items() if name not in defined
    }
    if not missing:
        return openapi
    extended = copy(openapi)  # not dataclasses.replace: __post_init__ would run again and warn
    extended.components = [*components, Components(security_schemes=missing)]
    return extended


def _schemes(config: PayGuardConfig) -> dict[str, SecurityScheme]:
    schemes = {
        API_KEY_SCHEME: SecurityScheme(
            type="apiKey",
            name=API_KEY_HEADER,
            security_scheme_in="header",
            description=f"The merchant's API key id; sent with {API_SECRET_HEADER}.",
        ),
        API_SECRET_SCHEME: SecurityScheme(
            type="apiKey",
            name=API_SECRET_HEADER,
            security_scheme_in="header",
            description=f"The merchant's API secret; sent with {API_KEY_HEADER}.",
        ),
        CLIENT_SECRET_SCHEME: SecurityScheme(
            type="apiKey",
            name=CLIENT_SECRET_HEADER,
            security_scheme_in="header",
            description="A checkout session's client secret (clientSecret when it opened): that session's routes "
            "only, for its customer. Never put it in a URL.",
        ),
    }
    customer = SecurityScheme(
        type="http",
        scheme="bearer",
        description=_HOST_SIGN_IN.format(hook="PayGuardConfig.customer_id", setting="openapi_customer_scheme"),
    )
    schemes[config.openapi_customer_scheme] = customer
    if config.admin_enabled and config.openapi_admin_scheme is not None:
        schemes[config.openapi_admin_scheme] = SecurityScheme(
            type="http",
            scheme="bearer",
            description=_HOST_SIGN_IN.format(hook="PayGuardConfig.admin_guards", setting="openapi_admin_scheme"),
        )
    return schemes
