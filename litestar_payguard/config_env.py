"""Policy settings read from the environment: ``PAYGUARD_<FIELD>`` overrides a field marked as policy."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import MISSING, Field, fields, replace
from typing import Any, ClassVar, Self

from litestar_payguard.config_checks import parse_floats, parse_strings
from litestar_payguard.exceptions import ImproperConfigurationError

__all__ = ("POLICY", "POLICY_FLOATS", "POLICY_STRING", "POLICY_STRINGS", "EnvPolicy")

POLICY = {"policy": True}
"""Field metadata of a policy value, parsed as its default's type."""
POLICY_FLOATS = {"policy": True, "parse": parse_floats, "kind": "comma-separated list of numbers"}
"""A policy tuple of numbers: its variable is comma-separated (``60,300``)."""
POLICY_STRINGS = {"policy": True, "parse": parse_strings, "kind": "comma-separated list"}
"""A policy tuple of strings: its variable is comma-separated (``127.0.0.0/8,::1/128``)."""
POLICY_STRING = {"policy": True, "parse": str, "kind": "str"}
"""A policy string whose default is ``None``."""


class EnvPolicy:
    """For a dataclass of settings: its policy fields, and a copy of it with them read from the environment."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]  # the subclass is a dataclass

    @classmethod
    def policy_fields(cls) -> dict[str, Any]:
        """Return the policy fields and their defaults, by field name."""
        return {
            f.name: (f.default if f.default is not MISSING else None) for f in fields(cls) if f.metadata.get("policy")
        }

    @classmethod
    def env_var(cls, field_name: str, prefix: str = "PAYGUARD_") -> str:
        """Return the environment variable that overrides a policy field."""
        return f"{prefix}{field_name.upper()}"

    def with_env(self, environ: Mapping[str, str] | None = None, prefix: str = "PAYGUARD_") -> Self:
        """Return a copy with policy fields overridden by ``PAYGUARD_<FIELD>`` environment variables.

        Args:
            environ: Variables to read; ``os.environ`` by default.
            prefix: Variable name prefix.

        Raises:
            ImproperConfigurationError: A variable does not parse as its field's type.
        """
        env = os.environ if environ is None else environ
        metadata = {f.name: f.metadata for f in fields(self)}
        overrides: dict[str, Any] = {}
        for name, default in self.policy_fields().items():
            raw = env.get(self.env_var(name, prefix))
            if raw is None:
                continue
            parse = metadata[name].get("parse", type(default))
            try:
                overrides[name] = parse(raw)
            except ValueError as exc:
                kind = metadata[name].get("kind", type(default).__name__)
                msg = f"{self.env_var(name, prefix)}={raw!r} is not a valid {kind}"
                raise ImproperConfigurationError(msg) from exc
        return replace(self, **overrides)
