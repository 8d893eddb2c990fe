"""Validation errors raised by shop services: field → Japanese message, nothing saved."""

from __future__ import annotations

from collections.abc import Mapping


class ValidationFailed(ValueError):
    """Bad input. ``errors`` maps a field path (``credentials.site_id``) to a Japanese message."""

    def __init__(
        self,
        errors: Mapping[str, str],
        *,
        code: str = "validation_error",
        field_codes: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)
        self.code = code
        self.field_codes = dict(field_codes or {})

    def code_for(self, field: str) -> str:
        return self.field_codes.get(field, "invalid")


class NotFound(LookupError):
    """No such object in this shop (also what another shop's id looks like)."""
