"""Bulk actions on checked orders: jobs with progress and per-row results, 伝票番号同期, 請求書ダウンロード."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kessai.backoffice.models import AuditEntry
from kessai.payments import services
from kessai.payments.bulk import run_bulk_job
from kessai.payments.models import BulkJob, Payment
from kessai.shops import services as shop_services
from tests import factories
from tests.backoffice import invoice_provider

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


def test_bulk_capture_creates_a_job_and_the_progress_fragment_polls_until_done(world, operator_client):
    payments = [factories.authorized_payment(world.shop, world.method) for _ in range(3)]
    services.capture(payments[2], actor="test")  # already captured: this row fails

    response = operator_client.post(
        reverse("backoffice:bulk"), {"action": "capture", "payment": [p.pk for p in payments]}
    )

    job = BulkJob.objects.get()
    assert response["Location"] == reverse("backoffice:job", args=[job.pk])
    assert (job.action, job.total, job.actor) == ("capture", 3, "user:operator")
    progress = operator_client.get(reverse("backoffice:job_progress", args=[job.pk]), **HX).content.decode()
    assert 'hx-trigger="load delay:400ms"' in progress
    assert ">0/3<" in progress

    run_bulk_job(job.pk)

    done = operator_client.get(reverse("backoffice:job_progress", args=[job.pk]), **HX).content.decode()
    assert "hx-trigger" not in done
    assert ">3/3<" in done
    assert "成功 2件 / 失敗 1件" in done
    assert "決済状況が「売上計上」のため、売上計上はできません。" in done
    assert AuditEntry.objects.get(action="bulk.capture").target_id == job.pk


def test_bulk_needs_a_selection(world, operator_client):
    response = operator_client.post(reverse("backoffice:bulk"), {"action": "capture"}, follow=True)
    assert "対象の受注を1件以上選択してください。" in response.content.decode()
    assert not BulkJob.objects.exists()


def test_shipment_sync_asks_for_carrier_and_tracking_number_per_row(world, operator_client):
    a, b = (factories.authorized_payment(world.shop, world.method) for _ in range(2))
    url = reverse("backoffice:bulk")

    form = operator_client.post(url, {"action": "report_shipment", "payment": [a.pk, b.pk]})
    assert form.status_code == 200
    assert "伝票番号同期" in form.content.decode()
    assert not BulkJob.objects.exists()

    bad = operator_client.post(
        url,
        {
            "action": "report_shipment",
            "confirm": "1",
            "payment": [a.pk, b.pk],
            f"carrier_{a.pk}": "yamato",
            f"tracking_{a.pk}": "1234-5678-9012",
            f"carrier_{b.pk}": "",
            f"tracking_{b.pk}": "x",
        },
    )
    assert bad.status_code == 400
    assert "配送会社を選択してください。" in bad.content.decode()
    assert not BulkJob.objects.exists()

    operator_client.post(
        url,
        {
            "action": "report_shipment",
            "confirm": "1",
            "payment": [a.pk, b.pk],
            f"carrier_{a.pk}": "yamato",
            f"tracking_{a.pk}": "1234-5678-9012",
            f"carrier_{b.pk}": "sagawa",
            f"tracking_{b.pk}": "998877665544",
        },
    )
    job = BulkJob.objects.get()
    assert job.params == {
        a.pk: {"carrier": "yamato", "tracking_no": "1234-5678-9012"},
        b.pk: {"carrier": "sagawa", "tracking_no": "998877665544"},
    }
    run_bulk_job(job.pk)
    assert set(Payment.objects.values_list("shipment_reported", flat=True)) == {True}


def test_shipment_sync_from_a_cp932_csv(world, operator_client):
    a, b = (factories.authorized_payment(world.shop, world.method) for _ in range(2))
    body = (
        "注文番号,配送会社,伝票番号\r\n"
        f"{a.order.shop_order_no},ヤマト運輸,111122223333\r\n"
        f"{b.order.shop_order_no},佐川急便,444455556666\r\n"
    ).encode("cp932")

    operator_client.post(
        reverse("backoffice:bulk"),
        {
            "action": "report_shipment",
            "confirm": "1",
            "payment": [a.pk, b.pk],
            "csv": SimpleUploadedFile("ship.csv", body, content_type="text/csv"),
        },
    )

    job = BulkJob.objects.get()
    assert job.params[a.pk] == {"carrier": "yamato", "tracking_no": "111122223333"}
    assert job.params[b.pk] == {"carrier": "sagawa", "tracking_no": "444455556666"}


def test_shipment_csv_rows_for_unselected_orders_are_refused(world, operator_client):
    a = factories.authorized_payment(world.shop, world.method)
    body = "A-99999,ヤマト運輸,111122223333\n".encode()

    response = operator_client.post(
        reverse("backoffice:bulk"),
        {
            "action": "report_shipment",
            "confirm": "1",
            "payment": [a.pk],
            "csv": SimpleUploadedFile("ship.csv", body, content_type="text/csv"),
        },
    )

    assert response.status_code == 400
    assert "注文番号「A-99999」は選択された受注にありません。" in response.content.decode()
    assert not BulkJob.objects.exists()


def test_invoice_download_only_where_the_provider_issues_enclosed_invoices(world, payment, operator_client):
    html = operator_client.get(reverse("backoffice:orders")).content.decode()
    assert 'value="invoice"' not in html
    refused = operator_client.post(
        reverse("backoffice:bulk"), {"action": "invoice", "payment": [payment.pk]}, follow=True
    )
    assert "請求書ダウンロードに対応していません" in refused.content.decode()

    invoice_provider.install()
    account = shop_services.create_provider_account(
        world.shop,
        provider="fake_invoice",
        environment="test",
        credentials={"merchant_id": "M-2", "api_secret": "s3cret-abc"},
    )
    method = shop_services.create_payment_method(world.shop, provider_account=account, code="inv", name="同梱後払い")
    invoiced = factories.authorized_payment(world.shop, method)

    html = operator_client.get(reverse("backoffice:orders")).content.decode()
    assert 'value="invoice"' in html
    response = operator_client.post(
        reverse("backoffice:bulk"), {"action": "invoice", "payment": [payment.pk, invoiced.pk]}
    )
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert AuditEntry.objects.get(action="invoice.download").after == {"payment_ids": [invoiced.pk]}
