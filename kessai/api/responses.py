"""Which statuses each operation documents (every error is a :class:`Problem`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kessai.api.schemas.common import Problem

READ_ERRORS = (400, 401, 404, 422)
WRITE_ERRORS = (*READ_ERRORS, 409)
PROVIDER_ERRORS = (*WRITE_ERRORS, 402, 502, 504)


def documented(success: Mapping[int, Any], errors: tuple[int, ...] = READ_ERRORS) -> dict[int, Any]:
    return {**success, **dict.fromkeys(errors, Problem)}
