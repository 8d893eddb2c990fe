"""POST /bulk-jobs → 202 with the job; the worker runs it; GET /bulk-jobs/{id} gives progress and results."""

from __future__ import annotations

import pytest

from kessai.payments.bulk import run_bulk_job
from kessai.payments.models import BulkJob
from tests.api.helpers import authorized_payment

pytestmark = pytest.mark.django_db


def test_bulk_capture_reports_per_payment_results(client, method):
    ok = authorized_payment(client)
    already = authorized_payment(client)
    client.post(f"/payments/{already['id']}/capture")

    created = client.post("/bulk-jobs", {"action": "capture", "payment_ids": [ok["id"], already["id"]]})
    queued = client.get(f"/bulk-jobs/{created.body['id']}")
    run_bulk_job(created.body["id"])
    done = client.get(f"/bulk-jobs/{created.body['id']}")

    assert created.status == 202
    assert created.body["id"].startswith("job_")
    assert (queued.body["state"], queued.body["total"], queued.body["done"]) == ("queued", 2, 0)
    body = done.body
    assert (body["state"], body["total"], body["done"], body["succeeded"], body["failed"]) == ("done", 2, 2, 1, 1)
    assert [(r["payment_id"], r["ok"], r["state"], r["code"]) for r in body["results"]] == [
        (ok["id"], True, "captured", ""),
        (already["id"], False, "captured", "invalid_transition"),
    ]


def test_bulk_shipment_report_takes_per_payment_params(client, method):
    payment = authorized_payment(client)
    params = {payment["id"]: {"carrier": "sagawa", "tracking_no": "9999-0000"}}

    created = client.post("/bulk-jobs", {"action": "report_shipment", "payment_ids": [payment["id"]], "params": params})
    run_bulk_job(created.body["id"])

    assert client.get(f"/bulk-jobs/{created.body['id']}").body["succeeded"] == 1


def test_unknown_payment_in_a_bulk_job_is_refused_and_no_job_is_created(client, method):
    payment = authorized_payment(client)

    response = client.post("/bulk-jobs", {"action": "capture", "payment_ids": [payment["id"], "pay_nope"]})

    assert response.status == 422
    assert response.body["errors"] == [
        {"field": "payment_ids[1]", "code": "not_found", "message": "決済が見つかりません: pay_nope"}
    ]
    assert not BulkJob.objects.exists()


def test_unknown_action_is_a_field_error(client, method):
    response = client.post("/bulk-jobs", {"action": "explode", "payment_ids": ["pay_x"]})

    assert (response.status, response.body["errors"][0]["field"]) == (422, "action")
    assert response.body["errors"][0]["code"] == "invalid_choice"


def test_more_than_ten_thousand_payments_are_refused(client, method):
    response = client.post("/bulk-jobs", {"action": "capture", "payment_ids": [f"pay_{i}" for i in range(10_001)]})

    assert (response.status, response.body["errors"][0]["field"]) == (422, "payment_ids")
    assert not BulkJob.objects.exists()
