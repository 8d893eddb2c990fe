"""ダッシュボード: today / this month by state, captured money, NG rate per provider, 30-day SVG chart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from kessai.backoffice import selectors
from kessai.common.jst import now_jst
from kessai.payments import services
from kessai.payments.models import Payment
from tests import factories

pytestmark = pytest.mark.django_db


def test_counts_amounts_and_ng_rate(world, fake_ledger):
    a = factories.authorized_payment(world.shop, world.method)
    b = factories.authorized_payment(world.shop, world.method)
    services.capture(b, actor="test")
    fake_ledger.script.append("decline")
    with pytest.raises(Exception, match="与信NG"):
        factories.authorized_payment(world.shop, world.method)
    fake_ledger.script.append("pending")
    factories.authorized_payment(world.shop, world.method)
    assert a.state == "authorized"

    dash = selectors.dashboard(world.shop)

    assert (dash.today.ok_count, dash.today.ok_amount) == (2, 27648)
    assert (dash.today.ng_count, dash.today.held_count) == (1, 1)
    assert dash.today.captured_amount == 13824
    assert dash.month.screened == 4
    [(code, tally)] = dash.providers
    assert (code, round(tally.ng_rate, 2)) == ("fake", 0.25)
    assert dash.days[-1].total == 4
    assert sum(d.total for d in dash.days[:-1]) == 0


def test_old_payments_fall_outside_today_but_inside_the_window(world):
    three_days_ago = now_jst() - timedelta(days=3)
    order = factories.order(world.shop)
    p = Payment.objects.create(
        id=selectors.id_floor("pay", three_days_ago)[:-1] + "1",
        shop=world.shop,
        order=order,
        account=world.method.provider_account,
        payment_method=world.method,
        provider="fake",
        shop_transaction_no=order.shop_order_no,
        amount=order.amount,
        state="authorized",
    )
    Payment.objects.filter(pk=p.pk).update(created_at=three_days_ago)

    dash = selectors.dashboard(world.shop)

    assert dash.today.ok_count == 0
    assert dash.days[-4].ok == 1


def test_page_renders_cards_table_and_svg(world, payment, viewer_client):
    html = viewer_client.get(reverse("backoffice:dashboard")).content.decode()
    assert 'data-testid="today-ok">1件<' in html
    assert "<svg" in html
    assert 'class="bar-ok"' in html
    assert "Fake Pay" in html
    assert "0.0%" in html
