"""Bulk actions over checked payments (一括売上確定, 与信結果確認, 伝票番号同期, 与信キャンセル …).

A job is created in one transaction and run by the worker (enqueued on commit). Progress is saved per
payment, so a job survives a worker restart: it resumes after the last recorded row. Each row goes
through the ordinary service, so the per-payment guards (locks, pending/unknown refusal) apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from kessai.payments import services
from kessai.payments.models import BulkJob, BulkJobState, Payment
from kessai.payments.state import InvalidTransition
from kessai.providers.base import ProviderError
from kessai.shops.errors import ValidationFailed
from kessai.shops.models import Shop

MAX_PAYMENTS_PER_JOB = 10_000


def _capture(p: Payment, actor: str, params: Mapping[str, Any]) -> Payment:
    return services.capture(p, actor=actor)


def _cancel(p: Payment, actor: str, params: Mapping[str, Any]) -> Payment:
    return services.cancel(p, actor=actor)


def _refresh(p: Payment, actor: str, params: Mapping[str, Any]) -> Payment:
    return services.refresh(p, actor=actor)


def _authorize(p: Payment, actor: str, params: Mapping[str, Any]) -> Payment:
    return services.authorize(p, actor=actor)


def _report_shipment(p: Payment, actor: str, params: Mapping[str, Any]) -> Payment:
    shipment = params.get(p.id) or params.get("*") or {}
    return services.report_shipment(
        p,
        carrier=str(shipment.get("carrier", "")),
        tracking_no=str(shipment.get("tracking_no", "")),
        actor=actor,
    )


ACTIONS: Mapping[str, Callable[[Payment, str, Mapping[str, Any]], Payment]] = {
    "authorize": _authorize,  # 与信を実行
    "refresh": _refresh,  # 与信結果確認
    "capture": _capture,  # 売上確定
    "report_shipment": _report_shipment,  # 伝票番号同期
    "cancel": _cancel,  # 与信キャンセル
}


def create_bulk_job(
    shop: Shop,
    *,
    action: str,
    payment_ids: Sequence[str],
    actor: str,
    params: Mapping[str, Any] | None = None,
) -> BulkJob:
    errors: dict[str, str] = {}
    if action not in ACTIONS:
        errors["action"] = _("未対応の一括処理です: %(action)s") % {"action": action}
    ids = list(dict.fromkeys(payment_ids))
    if not ids:
        errors["payment_ids"] = _("対象の決済を1件以上選択してください。")
    elif len(ids) > MAX_PAYMENTS_PER_JOB:
        errors["payment_ids"] = _("一度に処理できるのは%(max)s件までです。") % {"max": f"{MAX_PAYMENTS_PER_JOB:,}"}
    else:
        known = set(Payment.objects.filter(shop=shop, pk__in=ids).values_list("pk", flat=True))
        for index, pid in enumerate(ids):
            if pid not in known:
                errors[f"payment_ids[{index}]"] = _("決済が見つかりません: %(id)s") % {"id": pid}
                break
    if errors:
        raise ValidationFailed(errors, code="invalid_bulk_job")
    with transaction.atomic():
        job = BulkJob.objects.create(
            shop=shop, action=action, payment_ids=ids, params=dict(params or {}), actor=actor, total=len(ids)
        )
        transaction.on_commit(lambda: run_bulk_job_task.enqueue(job.pk))
    return job


def run_bulk_job(job_id: str) -> BulkJob:
    job = BulkJob.objects.get(pk=job_id)
    if job.state == BulkJobState.DONE:
        return job
    BulkJob.objects.filter(pk=job_id).update(state=BulkJobState.RUNNING)
    action = ACTIONS[job.action]
    for payment_id in job.payment_ids[job.done :]:
        row = _run_one(job, payment_id, action)
        with transaction.atomic():
            job = BulkJob.objects.select_for_update().get(pk=job_id)
            job.results = [*job.results, row]
            job.done += 1
            job.succeeded += 1 if row["ok"] else 0
            job.failed += 0 if row["ok"] else 1
            job.save(update_fields=["results", "done", "succeeded", "failed"])
    BulkJob.objects.filter(pk=job_id).update(state=BulkJobState.DONE, finished_at=timezone.now())
    job.refresh_from_db()
    return job


def _run_one(
    job: BulkJob, payment_id: str, action: Callable[[Payment, str, Mapping[str, Any]], Payment]
) -> dict[str, Any]:
    payment = Payment.objects.select_related("order", "account").get(pk=payment_id, shop_id=job.shop_id)
    row: dict[str, Any] = {"payment_id": payment_id, "shop_order_no": payment.order.shop_order_no}
    try:
        result = action(payment, job.actor, job.params)
        return {**row, "ok": True, "state": result.state, "code": "", "message": ""}
    except ProviderError as exc:
        return {**row, "ok": False, "state": _state(payment_id), "code": exc.code, "message": exc.message}
    except InvalidTransition as exc:
        return {
            **row,
            "ok": False,
            "state": _state(payment_id),
            "code": "invalid_transition",
            "message": exc.message,
        }
    except ValidationFailed as exc:
        message = " ".join(exc.errors.values())
        return {**row, "ok": False, "state": _state(payment_id), "code": exc.code, "message": message}


def _state(payment_id: str) -> str:
    return Payment.objects.filter(pk=payment_id).values_list("state", flat=True).first() or ""


@task(queue_name="bulk")
def run_bulk_job_task(job_id: str) -> int:
    return run_bulk_job(job_id).done
