"""Helpers for testing litestar-payguard and running its demo."""
