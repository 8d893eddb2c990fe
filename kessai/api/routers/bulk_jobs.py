"""POST /bulk-jobs, GET /bulk-jobs/{id}."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router

from kessai.api.auth import actor_of, environment_of, shop_of
from kessai.api.responses import WRITE_ERRORS, documented
from kessai.api.schemas.bulk_jobs import BulkJobIn, BulkJobOut, bulk_job_out
from kessai.payments import bulk, selectors
from kessai.shops.errors import ValidationFailed

router = Router(tags=["bulk-jobs"])


@router.post("/bulk-jobs", response=documented({202: BulkJobOut}, WRITE_ERRORS), summary="一括処理 / Start a bulk job")
def create_bulk_job(request: HttpRequest, body: BulkJobIn) -> tuple[int, dict[str, Any]]:
    """最大10,000件の決済に同じ操作 (authorize, refresh, capture, report_shipment, cancel) をワーカーで実行します。
    進捗と決済ごとの結果は GET /bulk-jobs/{id} で確認できます。"""
    shop, environment = shop_of(request), environment_of(request)
    ids = list(dict.fromkeys(body.payment_ids))
    known = selectors.payment_ids_in(shop, ids, environment=environment)
    missing = next((payment_id for payment_id in ids if payment_id not in known), None)
    if missing is not None:
        field = f"payment_ids[{body.payment_ids.index(missing)}]"
        message = _("決済が見つかりません: %(id)s") % {"id": missing[:60]}
        raise ValidationFailed({field: message}, code="invalid_bulk_job", field_codes={field: "not_found"})
    params = {key: value.model_dump() for key, value in (body.params or {}).items()}
    job = bulk.create_bulk_job(shop, action=body.action, payment_ids=ids, actor=actor_of(request), params=params)
    return 202, bulk_job_out(job)


@router.get("/bulk-jobs/{job_id}", response=documented({200: BulkJobOut}), summary="一括処理の進捗 / Get a bulk job")
def get_bulk_job(request: HttpRequest, job_id: str) -> dict[str, Any]:
    return bulk_job_out(selectors.get_bulk_job(shop_of(request), job_id, environment=environment_of(request)))
