"""The 決済情報 dialog: each button calls the payment service; errors come back in Japanese."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kessai.backoffice.models import AuditEntry
from kessai.payments import services
from kessai.payments.models import Payment, PaymentError
from tests import factories

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true", "HTTP_X_FLASH_TARGET": "#dialog-flash"}


def test_detail_shows_the_dialog_with_history_and_buttons_for_the_state(world, payment, viewer_client):
    html = viewer_client.get(reverse("backoffice:order_detail", args=[payment.order_id])).content.decode()

    assert "決済情報ダイアログ" in html
    assert "利用額変更" in html
    assert "処理区分" in html
    assert "処理日時" in html
    assert 'id="btn-capture"' in html
    assert 'id="btn-cancel"' in html
    assert "取り消した決済を元に戻すことはできません。" in html
    assert "受注の対応状況(キャンセル)は連動しません" in html
    assert 'id="rescreen-warning"' in html  # the fake provider re-screens on amount changes
    assert 'id="btn-retry"' not in html
    assert "閲覧のみの権限のため" in html


def test_capture_from_the_dialog_over_htmx(world, payment, operator_client):
    response = operator_client.post(reverse("backoffice:payment_capture", args=[payment.pk]), **HX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "売上計上しました。" in html
    assert 'id="dialog-state">売上計上<' in html
    assert 'id="btn-capture"' not in html
    payment.refresh_from_db()
    assert payment.state == "captured"
    assert payment.operations.last().actor == "user:operator"
    entry = AuditEntry.objects.get(action="payment.capture")
    assert entry.before["state"] == "authorized"
    assert entry.after["state"] == "captured"
    assert entry.after["captured_amount"] == 13824


def test_invalid_transition_is_shown_in_japanese(world, payment, operator_client):
    services.cancel(payment, actor="test")

    response = operator_client.post(reverse("backoffice:payment_capture", args=[payment.pk]), **HX)

    assert response.status_code == 409
    assert "決済状況が「取消済み」のため、売上計上はできません。" in response.content.decode()
    assert AuditEntry.objects.get(action="payment.capture").after["error"].startswith("決済状況が")


def test_provider_error_is_shown_and_logged(world, payment, operator_client, fake_ledger):
    fake_ledger.script.append("invalid")

    response = operator_client.post(reverse("backoffice:payment_capture", args=[payment.pk]), **HX)

    assert response.status_code == 422
    assert "リクエストが不正です。" in response.content.decode()
    assert PaymentError.objects.filter(shop=world.shop).count() == 1
    payment.refresh_from_db()
    assert payment.state == "authorized"


def test_cancel_without_htmx_redirects_with_message(world, payment, operator_client):
    response = operator_client.post(reverse("backoffice:payment_cancel", args=[payment.pk]), follow=True)

    assert "決済を取り消しました。" in response.content.decode()
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert (payment.state, payment.order.status) == ("cancelled", "new")


def test_change_amount_edits_lines(world, payment, operator_client):
    data = {
        "sku": ["P-1", "ship", "C-1"],
        "name": ["1人掛けソファ", "送料", "クーポン"],
        "unit_price": ["12800", "1024", "-500"],
        "quantity": ["1", "1", "1"],
        "amount": "13324",
    }

    response = operator_client.post(reverse("backoffice:payment_change_amount", args=[payment.pk]), data, **HX)

    assert response.status_code == 200, response.content.decode()
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert (payment.amount, payment.order.amount) == (13324, 13324)
    assert payment.order.items[-1] == {"sku": "C-1", "name": "クーポン", "unit_price": -500, "quantity": 1}


def test_change_amount_mismatch_and_cancelled_are_refused(world, payment, operator_client):
    bad = {"sku": ["P-1"], "name": ["ソファ"], "unit_price": ["12800"], "quantity": ["1"], "amount": "13824"}
    response = operator_client.post(reverse("backoffice:payment_change_amount", args=[payment.pk]), bad, **HX)
    assert response.status_code == 400
    assert "明細の合計" in response.content.decode()

    services.cancel(payment, actor="test")
    ok = {"sku": ["P-1"], "name": ["ソファ"], "unit_price": ["12800"], "quantity": ["1"], "amount": "12800"}
    response = operator_client.post(reverse("backoffice:payment_change_amount", args=[payment.pk]), ok, **HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert "取消済み" in html
    assert "取消済みの決済は金額変更できません。" in html
    payment.refresh_from_db()
    assert payment.amount == 13824


def test_retry_starts_a_new_payment_for_a_declined_one(world, operator_client, fake_ledger):
    fake_ledger.script.append("decline")
    order = factories.order(world.shop)
    with pytest.raises(Exception, match="与信NG"):
        services.start_payment(order, method_ref=world.method.pk, actor="test")
    declined = Payment.objects.get(order=order)
    html = operator_client.get(reverse("backoffice:order_detail", args=[order.pk])).content.decode()
    assert 'id="btn-retry"' in html
    assert 'id="btn-capture"' not in html

    response = operator_client.post(
        reverse("backoffice:payment_retry", args=[declined.pk]), {"payment_method": world.method.pk}, **HX
    )

    assert response.status_code == 200
    assert "再決済を実行しました。" in response.content.decode()
    states = list(Payment.objects.filter(order=order).order_by("id").values_list("state", flat=True))
    assert states == ["declined", "authorized"]


def test_refresh_settles_an_unknown_outcome(world, payment, operator_client, fake_ledger):
    fake_ledger.script.append("lost")
    with pytest.raises(Exception, match="応答がありませんでした"):
        services.capture(payment, actor="test")
    html = operator_client.get(reverse("backoffice:order_detail", args=[payment.order_id])).content.decode()
    assert 'id="btn-refresh"' in html

    response = operator_client.post(reverse("backoffice:payment_refresh", args=[payment.pk]), **HX)

    assert "最新の状態を取得しました。" in response.content.decode()
    payment.refresh_from_db()
    assert payment.state == "captured"
