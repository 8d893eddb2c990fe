"""伝票番号同期 of 100 NP後払い orders as one bulk job, with a result per order."""

from __future__ import annotations

import pytest

from kessai.payments import selectors, services
from kessai.payments.bulk import create_bulk_job, run_bulk_job
from kessai.payments.models import Payment
from tests.integration.np_atobarai.hub import NpShop, assert_ledger_agrees

pytestmark = pytest.mark.django_db


def test_bulk_shipment_sync_of_100_orders_reports_each_order(np: NpShop) -> None:
    payments = [np.pay() for _ in range(100)]
    assert len(selectors.unreported_shipments(np.shop)) == 100
    services.report_shipment(payments[0], carrier="sagawa", tracking_no="000000000001", actor="t")  # already done
    params = {p.pk: {"carrier": "yamato", "tracking_no": f"4000-0000-{i:04d}"} for i, p in enumerate(payments)}
    params[payments[0].pk] = {"carrier": "佐川急便", "tracking_no": "000000000001"}
    params[payments[1].pk] = {"carrier": "yamato", "tracking_no": "12345"}  # not 12 digits
    params[payments[2].pk] = {"carrier": "other", "tracking_no": "X-1"}  # NP has no 「その他」
    params[payments[3].pk] = {"carrier": "", "tracking_no": "400000000003"}

    job = create_bulk_job(
        np.shop, action="report_shipment", payment_ids=[p.pk for p in payments], params=params, actor="user:staff"
    )
    done = run_bulk_job(job.pk)

    assert (done.state, done.total, done.done, done.succeeded, done.failed) == ("done", 100, 100, 97, 3)
    rows = {row["payment_id"]: row for row in done.results}
    assert [row["shop_order_no"] for row in done.results] == [p.order.shop_order_no for p in payments]
    assert (rows[payments[0].pk]["ok"], rows[payments[0].pk]["state"]) == (True, "captured")
    assert rows[payments[1].pk] == {
        "payment_id": payments[1].pk,
        "shop_order_no": payments[1].order.shop_order_no,
        "ok": False,
        "state": "authorized",
        "code": "shipment:slip_no",
        "message": "ヤマト運輸の伝票番号は半角数字12桁で入力してください。",
    }
    assert rows[payments[2].pk]["message"].startswith("NP後払いでは配送会社「その他」を指定できません。")
    assert (rows[payments[3].pk]["code"], rows[payments[3].pk]["message"]) == (
        "shipment:carrier",
        "配送会社を選択してください。",
    )
    assert all(rows[p.pk]["ok"] and rows[p.pk]["state"] == "captured" for p in payments[4:])

    captured = Payment.objects.filter(pk__in=[p.pk for p in payments], state="captured")
    assert captured.count() == 97
    assert all(p.shipment_reported and p.captured_amount == p.amount for p in captured)
    shipments = [m for m in np.emulator.app.ledger()["movements"] if m["kind"] == "shipment"]
    assert len(shipments) == 97  # one per captured order: the repeated one was "already reported"
    assert np.emulator.tx(payments[50].provider_ref)["shipment"] == {
        "pd_company_code": "59010",
        "slip_no": "400000000050",
        "bill_issued_date": None,
    }
    assert [row.payment.pk for row in selectors.unreported_shipments(np.shop)] == [p.pk for p in payments[1:4]]
    assert_ledger_agrees(payments[50])
