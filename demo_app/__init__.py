"""A small shop built on litestar-payguard; ``./scripts/demo`` runs it from the repository."""

from demo_app.app import create_app

__all__ = ("create_app",)
