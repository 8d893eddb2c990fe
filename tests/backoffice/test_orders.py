"""受注リスト: columns, filters, search, keyset pages, column chooser, CSV for Excel, query count."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from kessai.backoffice.models import AuditEntry, StaffPreference
from kessai.backoffice.selectors import order_page
from kessai.payments import services
from kessai.payments.selectors import OrderFilter
from tests import factories

pytestmark = pytest.mark.django_db


def _csv(response, encoding: str) -> list[list[str]]:
    body = b"".join(response.streaming_content)
    return list(csv.reader(io.StringIO(body.decode(encoding))))


def test_list_shows_welcart_columns_with_payment_state_and_yen(world, payment, viewer_client):
    services.capture(payment, actor="test")
    page = viewer_client.get(reverse("backoffice:orders")).content.decode()

    for header in ("注文番号", "受注日", "対応状況", "支払方法", "決済ID", "総合計金額(円)", "氏名", "都道府県"):
        assert f">{header}</th>" in page
    assert payment.order.shop_order_no in page
    assert payment.provider_ref in page
    assert "売上計上" in page
    assert "¥13,824" in page
    assert "東京都" in page
    assert "新規受付" in page


def test_filters_and_search(world, viewer_client):
    captured = factories.authorized_payment(
        world.shop, world.method, customer={**factories.order_body()["customer"], "name": "佐藤 花子"}
    )
    services.capture(captured, actor="test")
    authorized = factories.authorized_payment(world.shop, world.method)

    def numbers(**params: str) -> list[str]:
        html = viewer_client.get(reverse("backoffice:orders"), params).content.decode()
        return [
            no for no in (captured.order.shop_order_no, authorized.order.shop_order_no) if f'data-order="{no}"' in html
        ]

    assert numbers(state="captured") == [captured.order.shop_order_no]
    assert numbers(state="authorized") == [authorized.order.shop_order_no]
    assert numbers(q="佐藤") == [captured.order.shop_order_no]
    assert numbers(q=authorized.provider_ref) == [authorized.order.shop_order_no]
    assert numbers(provider="fake") == [captured.order.shop_order_no, authorized.order.shop_order_no]
    assert numbers(provider="atone") == []
    assert numbers(**{"from": "2000-01-01", "to": "2000-01-31"}) == []
    html = viewer_client.get(reverse("backoffice:orders"), {"from": "2024-13-40"}).content.decode()
    assert "受注日(開始)は YYYY-MM-DD 形式で入力してください。" in html


def test_keyset_pages_walk_all_orders_without_gaps(world):
    made = [factories.order(world.shop).pk for _ in range(7)]
    expected = sorted(made, reverse=True)

    seen, after = [], ""
    while True:
        page = order_page(world.shop, OrderFilter(), after=after, size=3)
        seen += [o.pk for o in page.orders]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == expected

    back = order_page(world.shop, OrderFilter(), before=expected[3], size=3)
    assert [o.pk for o in back.orders] == expected[:3]
    assert back.prev_before is None


def test_list_query_count_does_not_grow_with_rows(world, viewer_client, django_assert_max_num_queries):
    for _ in range(3):
        factories.authorized_payment(world.shop, world.method)
    with django_assert_max_num_queries(12) as few:
        viewer_client.get(reverse("backoffice:orders"))
    for _ in range(12):
        factories.authorized_payment(world.shop, world.method)
    with django_assert_max_num_queries(len(few.captured_queries)):
        viewer_client.get(reverse("backoffice:orders"))


def test_column_chooser_is_remembered_per_user(world, payment, viewer_client, operator_client):
    response = viewer_client.post(reverse("backoffice:order_columns"), {"columns": ["payment", "amount"]})
    assert response.status_code == 302

    assert StaffPreference.objects.get(user=world.viewer.user).order_columns == ["shop_order_no", "payment", "amount"]
    mine = viewer_client.get(reverse("backoffice:orders")).content.decode()
    assert ">氏名</th>" not in mine
    assert ">決済ID</th>" in mine
    theirs = operator_client.get(reverse("backoffice:orders")).content.decode()
    assert ">氏名</th>" in theirs


def test_csv_utf8_with_bom(world, payment, operator_client):
    response = operator_client.get(reverse("backoffice:order_export"), {"encoding": "utf-8"})

    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][:3] == ["注文番号", "受注日", "対応状況"]
    assert rows[1][0] == payment.order.shop_order_no
    assert rows[1][5:8] == [payment.provider_ref, "仮売上", "13824"]
    assert rows[1][8] == "山田 太郎"
    assert AuditEntry.objects.filter(action="orders.export", after__encoding="utf-8").exists()


def test_csv_cp932_for_excel_replaces_unencodable_characters(world, operator_client):
    customer = {**factories.order_body()["customer"], "name": "髙橋 𠮷子"}  # 𠮷 is not in CP932
    factories.authorized_payment(world.shop, world.method, customer=customer)

    response = operator_client.get(reverse("backoffice:order_export"), {"encoding": "cp932", "state": "authorized"})

    assert response["Content-Type"] == "text/csv; charset=Shift_JIS"
    rows = _csv(response, "cp932")
    assert rows[0][0] == "注文番号"
    assert rows[1][8] == "髙橋 ?子"
    assert rows[1][6] == "仮売上"


def test_csv_respects_filters(world, payment, operator_client):
    services.capture(payment, actor="test")
    factories.authorized_payment(world.shop, world.method)

    rows = _csv(operator_client.get(reverse("backoffice:order_export"), {"state": "captured"}), "utf-8-sig")

    assert [r[0] for r in rows[1:]] == [payment.order.shop_order_no]


def test_order_status_is_separate_from_the_payment(world, payment, operator_client):
    operator_client.post(reverse("backoffice:order_status", args=[payment.order_id]), {"status": "cancelled"})

    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert (payment.order.status, payment.state) == ("cancelled", "authorized")
    entry = AuditEntry.objects.get(action="order.status")
    assert (entry.before, entry.after, entry.username) == ({"status": "new"}, {"status": "cancelled"}, "operator")
