"""Shapes shared by every router: the problem document and the strict base for request bodies."""

from __future__ import annotations

from typing import Literal

from ninja import Schema
from pydantic import ConfigDict

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


class InputSchema(Schema):
    """Request bodies: JSON types are not coerced ("100" is not an integer) and unknown fields are refused."""

    model_config = ConfigDict(strict=True, extra="forbid")


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
