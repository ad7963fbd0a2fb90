"""The pages payguard serves to people: the hosted checkout page (its scripts and styles are in ``static/``)."""

from litestar_payguard.pages.checkout import STATIC_DIRECTORY, checkout_headers, render_checkout

__all__ = ("STATIC_DIRECTORY", "checkout_headers", "render_checkout")
