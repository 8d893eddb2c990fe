"""請求書ダウンロード: the PDF carries the buyer's name, the amount and the due date — read back from the PDF."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader

from kessai.backoffice.invoices import due_date, render_invoices
from tests import factories

pytestmark = pytest.mark.django_db


def test_invoice_text_reads_back_with_name_amount_and_due_date(fake_ledger):
    shop = factories.shop()
    payment = factories.authorized_payment(shop, factories.fake_method(shop))
    second = factories.authorized_payment(shop, customer={**factories.order_body()["customer"], "name": "佐藤 花子"})

    pdf = render_invoices([payment, second], shop_name="テストショップ", issued_on=date(2026, 11, 23))

    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 2
    first = reader.pages[0].extract_text()
    assert "山田 太郎 様" in first
    assert "¥13,824" in first
    assert "お支払期限: 2026年12月07日" in first
    assert payment.order.shop_order_no in first
    assert "佐藤 花子 様" in reader.pages[1].extract_text()


def test_due_date_is_fourteen_days_after_issue():
    assert due_date(date(2026, 12, 25)) == date(2027, 1, 8)
