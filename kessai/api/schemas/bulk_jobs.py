"""Bulk jobs over many payments (一括売上確定, 与信結果確認, 伝票番号同期 …)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from kessai.api.schemas.common import InputSchema
from kessai.api.schemas.payments import ShipmentIn
from kessai.payments.bulk import ACTIONS, MAX_PAYMENTS_PER_JOB
from kessai.payments.models import BulkJob

BulkAction = Literal["authorize", "refresh", "capture", "report_shipment", "cancel"]
assert set(BulkAction.__args__) == set(ACTIONS)  # type: ignore[attr-defined]  # noqa: S101


class BulkJobIn(InputSchema):
    action: BulkAction
    payment_ids: list[str] = Field(min_length=1, max_length=MAX_PAYMENTS_PER_JOB)
    params: dict[str, ShipmentIn] | None = Field(
        None,
        description='report_shipment: 決済IDごとの {"carrier", "tracking_no"}、または全件共通の "*"',
    )


class BulkResultOut(Schema):
    payment_id: str
    shop_order_no: str
    ok: bool
    state: str
    code: str
    message: str


class BulkJobOut(Schema):
    id: str
    action: str
    state: Literal["queued", "running", "done"]
    total: int
    done: int
    succeeded: int
    failed: int
    results: list[BulkResultOut]
    created_at: datetime
    finished_at: datetime | None


def bulk_job_out(job: BulkJob) -> dict[str, Any]:
    return {
        "id": job.id,
        "action": job.action,
        "state": job.state,
        "total": job.total,
        "done": job.done,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "results": [
            {
                "payment_id": str(row.get("payment_id", "")),
                "shop_order_no": str(row.get("shop_order_no", "")),
                "ok": bool(row.get("ok")),
                "state": str(row.get("state", "")),
                "code": str(row.get("code", "")),
                "message": str(row.get("message", "")),
            }
            for row in job.results
            if isinstance(row, Mapping)
        ],
        "created_at": job.created_at,
        "finished_at": job.finished_at,
    }
