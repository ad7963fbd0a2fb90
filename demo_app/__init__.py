"""A small shop built on litestar-payguard (``payguard-demo``)."""

from demo_app.app import create_app

__all__ = ("create_app",)
