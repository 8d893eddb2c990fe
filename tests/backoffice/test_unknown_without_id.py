"""要確認: an authorization whose answer (and provider id) was lost. Staff settle it from the 決済情報 dialog, as the
janitor's review note asks: 「最新の状態を取得」 with the 取引ID found in the provider's console, or
「取引なしとして閉じる」 when the console shows no transaction."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kessai.backoffice.models import AuditEntry
from kessai.payments import services
from kessai.payments.models import Operation, Payment
from kessai.providers.base import ProviderError
from tests import factories

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true", "HTTP_X_FLASH_TARGET": "#dialog-flash"}


def _unknown_without_id(world, fake_ledger, outcome: str = "lost") -> Payment:  # type: ignore[no-untyped-def]
    """``lost``: registered at the provider, the answer and its id lost; ``unavailable``: nothing registered."""
    order = factories.order(world.shop)
    fake_ledger.script.append(outcome)
    with pytest.raises(ProviderError):
        services.start_payment(order, method_ref=world.method.pk, actor="test")
    payment = Payment.objects.get(order=order)
    assert (payment.state, payment.provider_ref) == ("unknown", "")
    return payment


def _detail(client, payment: Payment) -> str:  # type: ignore[no-untyped-def]
    return client.get(reverse("backoffice:order_detail", args=[payment.order_id])).content.decode()


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def test_the_buttons_show_only_for_an_unknown_authorization_without_id(world, payment, operator_client, fake_ledger):
    html = _detail(operator_client, payment)  # authorized, with a provider id
    assert 'id="btn-close-unregistered"' not in html
    assert 'id="refresh-ref"' not in html
    assert services.can_close_unregistered(payment) is False

    unknown = _unknown_without_id(world, fake_ledger)
    html = _detail(operator_client, unknown)

    assert services.can_close_unregistered(unknown) is True
    assert 'id="btn-close-unregistered"' in html
    assert f"取引番号{unknown.shop_transaction_no}の取引がないことを確認してから" in html
    assert 'id="refresh-ref"' in html
    assert 'name="provider_ref"' in html
    assert html.count('id="btn-refresh"') == 1


def test_a_lost_capture_offers_refresh_without_an_id_input(world, payment, operator_client, fake_ledger):
    fake_ledger.script.append("lost")
    with pytest.raises(ProviderError):
        services.capture(payment, actor="test")

    html = _detail(operator_client, payment)

    assert 'id="btn-refresh"' in html
    assert 'id="refresh-ref"' not in html
    assert 'id="btn-close-unregistered"' not in html


def test_close_unregistered_cancels_the_payment(world, operator_client, fake_ledger):
    unknown = _unknown_without_id(world, fake_ledger, "unavailable")

    response = operator_client.post(reverse("backoffice:payment_close_unregistered", args=[unknown.pk]), **HX)

    assert response.status_code == 200
    html = response.content.decode()
    assert "取引なしとして閉じました。" in html
    assert 'id="dialog-state">取消済み<' in html
    assert 'id="btn-close-unregistered"' not in html
    unknown.refresh_from_db()
    assert unknown.state == "cancelled"
    assert list(unknown.operations.values_list("kind", "result")) == [("authorize", "failed")]
    entry = AuditEntry.objects.get(action="payment.close_unregistered")
    assert (entry.before["state"], entry.after["state"]) == ("unknown", "cancelled")
    # the order may be paid again
    again = services.start_payment(unknown.order, method_ref=world.method.pk, actor="test")
    assert again.payment.state == "authorized"


def test_close_unregistered_without_htmx_redirects_with_message(world, operator_client, fake_ledger):
    unknown = _unknown_without_id(world, fake_ledger, "unavailable")

    response = operator_client.post(reverse("backoffice:payment_close_unregistered", args=[unknown.pk]), follow=True)

    assert "取引なしとして閉じました。" in response.content.decode()
    unknown.refresh_from_db()
    assert unknown.state == "cancelled"


def test_close_unregistered_is_refused_once_the_provider_id_is_known(world, payment, operator_client):
    response = operator_client.post(reverse("backoffice:payment_close_unregistered", args=[payment.pk]), **HX)

    assert response.status_code == 409
    assert "取引なしとして閉じることはできません。" in response.content.decode()
    payment.refresh_from_db()
    assert payment.state == "authorized"
    assert list(payment.operations.values_list("kind", "result")) == [("authorize", "succeeded")]
    assert AuditEntry.objects.get(action="payment.close_unregistered").after["error"].startswith("決済IDのない")


def test_refresh_links_the_id_found_in_the_providers_console(world, operator_client, fake_ledger):
    unknown = _unknown_without_id(world, fake_ledger)
    [ref] = fake_ledger.txs

    response = operator_client.post(
        reverse("backoffice:payment_refresh", args=[unknown.pk]),
        {"provider_ref": f"  {_full_width(ref)} "},  # typed full-width, with spaces around: NFKC and trimmed
        **HX,
    )

    assert response.status_code == 200, response.content.decode()
    html = response.content.decode()
    assert "最新の状態を取得しました。" in html
    assert 'id="btn-close-unregistered"' not in html
    unknown.refresh_from_db()
    assert (unknown.state, unknown.provider_ref) == ("authorized", ref)
    assert AuditEntry.objects.get(action="payment.refresh").after["provider_ref"] == ref


@pytest.mark.parametrize("typed", ["取引ID", "ab cd", "x" * 101])
def test_an_id_that_cannot_be_one_is_refused_in_japanese(world, operator_client, fake_ledger, typed):
    unknown = _unknown_without_id(world, fake_ledger)

    response = operator_client.post(
        reverse("backoffice:payment_refresh", args=[unknown.pk]), {"provider_ref": typed}, **HX
    )

    assert response.status_code == 400
    assert "取引IDは半角英数字・記号100文字以内で入力してください" in response.content.decode()
    unknown.refresh_from_db()
    assert (unknown.state, unknown.provider_ref) == ("unknown", "")
    assert not Operation.objects.filter(payment=unknown, kind="refresh").exists()


def test_refresh_without_an_id_is_refused(world, operator_client, fake_ledger):
    unknown = _unknown_without_id(world, fake_ledger)

    response = operator_client.post(
        reverse("backoffice:payment_refresh", args=[unknown.pk]), {"provider_ref": ""}, **HX
    )

    assert response.status_code == 409
    assert "決済IDがまだないため、状態を取得できません。" in response.content.decode()
    unknown.refresh_from_db()
    assert unknown.state == "unknown"


def test_an_id_of_another_order_is_refused_and_nothing_changes(world, payment, operator_client, fake_ledger):
    unknown = _unknown_without_id(world, fake_ledger)

    response = operator_client.post(
        reverse("backoffice:payment_refresh", args=[unknown.pk]), {"provider_ref": payment.provider_ref}, **HX
    )

    assert response.status_code == 422
    assert "一致しません" in response.content.decode()
    unknown.refresh_from_db()
    assert (unknown.state, unknown.provider_ref) == ("unknown", "")


def test_an_id_on_a_payment_not_awaiting_one_is_refused(world, payment, operator_client, fake_ledger):
    other = factories.authorized_payment(world.shop, world.method)

    response = operator_client.post(
        reverse("backoffice:payment_refresh", args=[payment.pk]), {"provider_ref": other.provider_ref}, **HX
    )

    assert response.status_code == 409
    assert "この決済の取引として記録されていません" in response.content.decode()
    payment.refresh_from_db()
    assert payment.provider_ref != other.provider_ref


def test_viewer_sees_disabled_buttons_and_cannot_post(world, viewer_client, fake_ledger):
    unknown = _unknown_without_id(world, fake_ledger)
    html = _detail(viewer_client, unknown)
    assert 'id="btn-close-unregistered" disabled' in html
    assert 'id="btn-refresh" disabled' in html
    [ref] = fake_ledger.txs

    closed = viewer_client.post(reverse("backoffice:payment_close_unregistered", args=[unknown.pk]), **HX)
    linked = viewer_client.post(reverse("backoffice:payment_refresh", args=[unknown.pk]), {"provider_ref": ref}, **HX)

    assert (closed.status_code, linked.status_code) == (403, 403)
    assert "閲覧のみの権限では操作できません" in closed.content.decode()
    unknown.refresh_from_db()
    assert (unknown.state, unknown.provider_ref) == ("unknown", "")
    assert not AuditEntry.objects.filter(action__startswith="payment.").exists()
