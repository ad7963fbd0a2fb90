"""The pages payguard serves to people: the hosted checkout page and the admin dashboard.

Their scripts and styles are in ``static/``, the dashboard's templates in ``templates/``.
"""

from litestar_payguard.pages.checkout import STATIC_DIRECTORY, checkout_headers, render_checkout
from litestar_payguard.pages.dashboard import (
    DASHBOARD_HEADERS,
    dashboard_error_handlers,
    dashboard_url,
    money,
    refusal_page,
    render_dashboard,
)

__all__ = (
    "DASHBOARD_HEADERS",
    "STATIC_DIRECTORY",
    "checkout_headers",
    "dashboard_error_handlers",
    "dashboard_url",
    "money",
    "refusal_page",
    "render_checkout",
    "render_dashboard",
)
