"""The pages payguard serves to people: the hosted checkout page and the admin dashboard.

Their scripts and styles are in ``static/``, the dashboard's templates in ``templates/``.
"""

from litestar_payguard.pages.checkout import STATIC_DIRECTORY, checkout_headers, render_checkout
from litestar_payguard.pages.dashboard import dashboard_error_handlers, dashboard_url, money, render_dashboard

__all__ = (
    "STATIC_DIRECTORY",
    "checkout_headers",
    "dashboard_error_handlers",
    "dashboard_url",
    "money",
    "render_checkout",
    "render_dashboard",
)
