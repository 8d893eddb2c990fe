"""請求書ダウンロード: enclosed invoices (同梱請求書) as one PDF, one page per order.

Drawn with reportlab's built-in Japanese CID font, so no font files are needed. Only orders whose
provider declares ``enclosed_invoice`` are included (the caller filters)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, timedelta

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from kessai.common.jst import format_jst, today_jst
from kessai.payments.models import Payment
from kessai.payments.money import format_yen, line_total
from kessai.providers import registry

FONT = "HeiseiKakuGo-W5"
# [I] The deferred-payment providers print 「発行日から14日以内」 on enclosed invoices (NP後払い, GMO後払い);
# the term is kept here, in one place, until a provider's own invoice data says otherwise.
PAYMENT_TERM_DAYS = 14


def due_date(issued_on: date) -> date:
    """お支払期限 of an invoice issued on ``issued_on`` (JST)."""
    return issued_on + timedelta(days=PAYMENT_TERM_DAYS)


def render_invoices(payments: Sequence[Payment], *, shop_name: str, issued_on: date | None = None) -> bytes:
    issued = issued_on or today_jst()
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buf = io.BytesIO()
    pdf = canvas.Canvas(buf, pagesize=A4)
    pdf.setTitle("請求書")
    width, height = A4
    for payment in payments:
        order = payment.order
        customer = order.customer or {}
        y = height - 25 * mm
        pdf.setFont(FONT, 18)
        pdf.drawString(20 * mm, y, "請求書")
        pdf.setFont(FONT, 10)
        pdf.drawRightString(width - 20 * mm, y, f"発行: {shop_name}")
        y -= 12 * mm
        pdf.setFont(FONT, 11)
        for line in (
            f"{customer.get('zip_code', '')} {customer.get('address', '')}",
            f"{customer.get('name', order.customer_name)} 様",
        ):
            pdf.drawString(20 * mm, y, line)
            y -= 6 * mm
        y -= 4 * mm
        pdf.setFont(FONT, 10)
        for line in (
            f"注文番号: {order.shop_order_no}    受注日: {format_jst(order.created_at)}",
            f"発行日: {issued:%Y年%m月%d日}    お支払期限: {due_date(issued):%Y年%m月%d日}",
            f"決済会社: {registry.info(payment.provider).name}    決済ID: {payment.provider_ref}",
        ):
            pdf.drawString(20 * mm, y, line)
            y -= 6 * mm
        y -= 4 * mm
        pdf.drawString(20 * mm, y, "商品名")
        pdf.drawRightString(130 * mm, y, "単価")
        pdf.drawRightString(150 * mm, y, "数量")
        pdf.drawRightString(190 * mm, y, "金額")
        y -= 2 * mm
        pdf.line(20 * mm, y, 190 * mm, y)
        y -= 5 * mm
        for item in order.items:
            price, qty = int(item["unit_price"]), int(item["quantity"])
            pdf.drawString(20 * mm, y, str(item["name"])[:40])
            pdf.drawRightString(130 * mm, y, format_yen(price))
            pdf.drawRightString(150 * mm, y, str(qty))
            pdf.drawRightString(190 * mm, y, format_yen(line_total(price, qty)))
            y -= 6 * mm
            if y < 40 * mm:
                pdf.showPage()
                pdf.setFont(FONT, 10)
                y = height - 25 * mm
        pdf.line(20 * mm, y + 3 * mm, 190 * mm, y + 3 * mm)
        pdf.setFont(FONT, 12)
        pdf.drawRightString(190 * mm, y - 3 * mm, f"ご請求金額(税込) {format_yen(payment.amount)}")
        pdf.setFont(FONT, 9)
        pdf.drawString(20 * mm, 20 * mm, "お支払い方法は決済会社からのご案内に従ってください。")
        pdf.showPage()
    pdf.save()
    return buf.getvalue()
