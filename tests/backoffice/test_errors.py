"""決済エラーログ: list, 詳細, ログ出力, ログ削除, and the red banner on every page while any entry exists."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from kessai.backoffice.models import AuditEntry
from kessai.payments.models import PaymentError

pytestmark = pytest.mark.django_db
BANNER = "決済エラーが発生しました。決済エラーログを確認してください。発生日時:["


def _error(world, *, message: str = "金額超過", when: datetime | None = None, **kw) -> PaymentError:
    error = PaymentError.objects.create(
        shop=world.shop,
        provider="fake",
        link_key="A-00001",
        status="ProviderDeclined",
        code="authorize:NG",
        message=message,
        request_id="req-123",
        payload={"provider_payload": {"error": "1"}},
        **kw,
    )
    if when:
        PaymentError.objects.filter(pk=error.pk).update(created_at=when)
    return error


def test_banner_shows_the_newest_error_time_in_jst_on_every_page(world, payment, viewer_client):
    _error(world, when=datetime(2019, 6, 11, 4, 20, 32, tzinfo=UTC))
    for url in (
        reverse("backoffice:dashboard"),
        reverse("backoffice:orders"),
        reverse("backoffice:order_detail", args=[payment.order_id]),
        reverse("backoffice:errors"),
    ):
        assert f"{BANNER}2019-06-11 13:20:32]" in viewer_client.get(url).content.decode(), url


def test_list_and_detail(world, viewer_client):
    error = _error(world, when=datetime(2019, 8, 6, 6, 38, 12, tzinfo=UTC))
    html = viewer_client.get(reverse("backoffice:errors")).content.decode()
    for text in (
        "登録日",
        "リンクキー",
        "決済種別",
        "ステータス",
        "2019-08-06 15:38:12",
        "A-00001",
        "Fake Pay",
        "与信NG: 金額超過",
    ):
        assert text in html

    detail = viewer_client.get(reverse("backoffice:error_detail", args=[error.pk])).content.decode()
    for text in ("金額超過", "authorize:NG", "req-123", "&quot;error&quot;: &quot;1&quot;"):
        assert text in detail


def test_download_as_text_and_csv(world, viewer_client):
    _error(world, message="郵便番号は半角数字7桁で設定してください。")
    text = viewer_client.get(reverse("backoffice:error_download"), {"format": "txt"})
    assert text["Content-Disposition"].endswith('.txt"')
    assert "メッセージ: 郵便番号は半角数字7桁で設定してください。" in text.content.decode()

    response = viewer_client.get(reverse("backoffice:error_download"), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["登録日", "リンクキー", "決済種別", "ステータス"]
    assert rows[1][1:4] == ["A-00001", "Fake Pay", "与信NG"]


def test_delete_selected_then_all_clears_the_banner(world, operator_client):
    first, second, third = (_error(world) for _ in range(3))

    operator_client.post(reverse("backoffice:error_delete"), {"scope": "selected", "error": [first.pk]})
    assert set(PaymentError.objects.values_list("pk", flat=True)) == {second.pk, third.pk}
    assert BANNER in operator_client.get(reverse("backoffice:dashboard")).content.decode()

    response = operator_client.post(reverse("backoffice:error_delete"), {"scope": "all"}, follow=True)

    assert "2件のエラーログを削除しました。" in response.content.decode()
    assert not PaymentError.objects.exists()
    assert BANNER not in operator_client.get(reverse("backoffice:dashboard")).content.decode()
    entry = AuditEntry.objects.filter(action="payment_errors.delete").order_by("id").last()
    assert (entry.target_id, sorted(entry.before["ids"]), entry.after) == (
        "all",
        sorted([second.pk, third.pk]),
        {"deleted": 2},
    )


def test_delete_selected_needs_a_selection(world, operator_client):
    _error(world)
    response = operator_client.post(reverse("backoffice:error_delete"), {"scope": "selected"}, follow=True)
    assert "削除するログを選択してください。" in response.content.decode()
    assert PaymentError.objects.count() == 1
