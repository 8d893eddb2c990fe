"""Shapes shared by every router: the problem document and the strict base for request bodies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from ninja.schema import DjangoGetter
from pydantic import BeforeValidator, ConfigDict, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from kessai.payments.state import Action, PaymentState

PaymentStateName = Literal[
    "created", "authorizing", "authorized", "pending_review", "declined", "unknown", "captured", "cancelled"
]
OperationKind = Literal[
    "authorize", "capture", "cancel", "change_amount", "report_shipment", "refund", "refresh", "charge"
]
OperationResultName = Literal["pending", "succeeded", "failed", "unknown"]
EnvironmentName = Literal["test", "production"]

assert set(PaymentStateName.__args__) == {s.value for s in PaymentState}  # type: ignore[attr-defined]  # noqa: S101
assert set(OperationKind.__args__) == {a.value for a in Action}  # type: ignore[attr-defined]  # noqa: S101


# Date filters take ISO 8601 dates and date-times ("2026-04-01", "2026-04-01T09:00", "2026-04-01T09:00:00+09:00");
# pydantic alone would also take a number as a Unix timestamp ("0" → 1970-01-01), which the schema does not allow.
ISO_DATETIME_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(?:[Tt ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:[Zz]|[+-][0-9]{2}:?[0-9]{2})?)?$"
)
_ISO_DATETIME = re.compile(ISO_DATETIME_PATTERN)


def _iso_8601(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATETIME.fullmatch(value):
        # The same error type as pydantic's own: the API answers 422 invalid_datetime with its usual message.
        raise PydanticCustomError("datetime_parsing", "Input should be an ISO 8601 date or date-time")
    return value


QueryDateTime = Annotated[
    datetime,
    BeforeValidator(_iso_8601),
    WithJsonSchema({"type": "string", "pattern": ISO_DATETIME_PATTERN}),
]


class InputSchema(Schema):
    """Request bodies: JSON types are not coerced ("100" is not an integer) and unknown fields are refused."""

    model_config = ConfigDict(strict=True, extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _json_object_only(cls, data: Any) -> Any:
        """ninja's Schema reads attributes from any object (``from_attributes``), so ``"options": 5`` would
        pass as an object whose fields are all unset: a JSON object is required."""
        raw = data._obj if isinstance(data, DjangoGetter) else data  # ninja wraps the input before we see it
        if isinstance(raw, dict | cls):
            return data
        raise PydanticCustomError("model_type", "Input should be a JSON object")


class FieldErrorOut(Schema):
    field: str
    code: str
    message: str


class Problem(Schema):
    """RFC 9457 problem details (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[FieldErrorOut]
    payment: str | None = None
    provider_code: str | None = None


class Deleted(Schema):
    id: str
    deleted: bool


class DeletedCount(Schema):
    deleted: int
