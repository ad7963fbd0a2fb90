"""The admin dashboard: server-rendered pages over the admin and merchant services, behind the admin guards."""

from litestar_payguard.controllers.dashboard.operations import DashboardOperationsController
from litestar_payguard.controllers.dashboard.webhooks import DashboardWebhooksController

__all__ = ("DashboardOperationsController", "DashboardWebhooksController")
