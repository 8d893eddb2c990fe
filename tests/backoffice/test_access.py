"""Roles on every view: viewers read but never change; operators operate; owners configure; other shops 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kessai.backoffice.access import SESSION_SHOP_KEY
from kessai.backoffice.models import AuditEntry
from kessai.backoffice.urls import urlpatterns
from kessai.payments.models import Payment, PaymentError
from kessai.shops.models import PaymentMethod
from tests import factories
from tests.backoffice.fixtures import ShopWorld, client_for

pytestmark = pytest.mark.django_db

# Endpoints about the signed-in person rather than the shop's data: any role may post to them.
PERSONAL = {"login", "login_otp", "logout", "otp_setup", "switch_shop", "set_language", "order_columns"}


def _urls(world: ShopWorld, payment: Payment) -> dict[str, str]:
    error = PaymentError.objects.create(shop=world.shop, provider="fake", status="unknown", message="x")
    job_id = "job_01JABCDEFGHJKMNPQRSTVWXYZ0"
    kwargs = {
        "order_detail": {"order_id": payment.order_id},
        "order_status": {"order_id": payment.order_id},
        "job": {"job_id": job_id},
        "job_progress": {"job_id": job_id},
        "payment_capture": {"payment_id": payment.pk},
        "payment_cancel": {"payment_id": payment.pk},
        "payment_change_amount": {"payment_id": payment.pk},
        "payment_retry": {"payment_id": payment.pk},
        "payment_refresh": {"payment_id": payment.pk},
        "payment_close_unregistered": {"payment_id": payment.pk},
        "error_detail": {"error_id": error.pk},
        "account_detail": {"provider": "fake"},
        "payment_method_edit": {"method_id": world.method.pk},
    }
    names = [str(p.name) for p in urlpatterns]
    assert len(names) >= 30  # every back-office route is covered below
    return {name: reverse(f"backoffice:{name}", kwargs=kwargs.get(name)) for name in names}


def test_viewer_is_refused_on_every_post_and_nothing_changes(world, payment, viewer_client):
    urls = _urls(world, payment)
    before = (Payment.objects.get().state, PaymentMethod.objects.get().sort, PaymentError.objects.count())

    refused = []
    for name, url in urls.items():
        if name in PERSONAL:
            continue
        response = viewer_client.post(url, {"action": "capture", "payment": payment.pk, "scope": "all"})
        assert response.status_code == 403, (name, response.status_code)
        refused.append(name)

    assert "payment_capture" in refused
    assert "error_delete" in refused
    assert "閲覧のみの権限では操作できません" in viewer_client.post(urls["payment_capture"]).content.decode()
    assert (Payment.objects.get().state, PaymentMethod.objects.get().sort, PaymentError.objects.count()) == before
    assert not AuditEntry.objects.filter(action__startswith="payment.").exists()


def test_viewer_reads_orders_dashboard_and_error_log(world, payment, viewer_client):
    for name in ("dashboard", "orders", "errors"):
        assert viewer_client.get(reverse(f"backoffice:{name}")).status_code == 200
    assert viewer_client.get(reverse("backoffice:order_detail", args=[payment.order_id])).status_code == 200
    # Exports carry personal data and settings carry credentials: not for viewers.
    assert viewer_client.get(reverse("backoffice:order_export")).status_code == 403
    assert viewer_client.get(reverse("backoffice:accounts")).status_code == 403


def test_operator_operates_but_cannot_change_settings(world, payment, operator_client):
    response = operator_client.post(reverse("backoffice:payment_capture", args=[payment.pk]))
    assert response.status_code == 302
    assert Payment.objects.get().state == "captured"

    assert operator_client.get(reverse("backoffice:accounts")).status_code == 200
    response = operator_client.post(
        reverse("backoffice:payment_methods"), {"action": "reorder", "order": [world.method.pk]}
    )
    assert response.status_code == 403
    assert "オーナーのみ" in response.content.decode()
    assert operator_client.get(reverse("backoffice:security")).status_code == 403
    assert operator_client.get(reverse("backoffice:audit")).status_code == 403


def test_another_shops_ids_are_not_found(world, other_world, payment, owner_client):
    theirs = factories.authorized_payment(other_world.shop, other_world.method)
    their_error = PaymentError.objects.create(shop=other_world.shop, provider="fake", status="unknown", message="x")

    gets = [
        reverse("backoffice:order_detail", args=[theirs.order_id]),
        reverse("backoffice:error_detail", args=[their_error.pk]),
        reverse("backoffice:payment_method_edit", args=[other_world.method.pk]),
    ]
    for url in gets:
        assert owner_client.get(url).status_code == 404, url
    posts = [
        reverse("backoffice:payment_capture", args=[theirs.pk]),
        reverse("backoffice:payment_cancel", args=[theirs.pk]),
        reverse("backoffice:order_status", args=[theirs.order_id]),
        reverse("backoffice:payment_method_edit", args=[other_world.method.pk]),
    ]
    for url in posts:
        assert owner_client.post(url, {"status": "cancelled", "action": "delete"}).status_code == 404, url
    # Bulk jobs ignore foreign payment ids; error deletion ignores foreign log ids.
    owner_client.post(reverse("backoffice:bulk"), {"action": "capture", "payment": [theirs.pk]})
    owner_client.post(reverse("backoffice:error_delete"), {"scope": "selected", "error": [their_error.pk]})
    theirs.refresh_from_db()
    assert theirs.state == "authorized"
    assert PaymentError.objects.filter(pk=their_error.pk).exists()
    assert PaymentMethod.objects.filter(pk=other_world.method.pk).exists()


def test_anonymous_is_sent_to_login(world):
    from django.test import Client

    response = Client().get(reverse("backoffice:orders"))
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=%2Forders%2F"


def test_shop_switcher_only_offers_own_shops(world, other_world):
    agency = world.owner
    from kessai.shops import services as shop_services

    shop_services.add_staff(other_world.shop, username=agency.user.username, password="x", role="viewer")
    client = client_for(agency)
    assert "テストショップ" in client.get(reverse("backoffice:dashboard")).content.decode()

    client.post(reverse("backoffice:switch_shop"), {"shop": other_world.shop.pk})
    assert client.session[SESSION_SHOP_KEY] == other_world.shop.pk
    # In the other shop the same person is only a viewer.
    assert client.post(reverse("backoffice:error_delete"), {"scope": "all"}).status_code == 403

    stranger = factories.shop("見知らぬショップ")
    client.post(reverse("backoffice:switch_shop"), {"shop": stranger.pk})
    assert client.session[SESSION_SHOP_KEY] == other_world.shop.pk
    assert list(AuditEntry.objects.filter(action="shop.switch").values_list("shop_id", flat=True)) == [
        other_world.shop.pk
    ]
