"""The /golive/ pages: viewers read, operators run checks, owners edit and switch; another shop's account is
a 404; agencies see every shop they belong to and what blocks it."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from kessai.backoffice.access import SESSION_SHOP_KEY
from kessai.backoffice.models import AuditEntry
from kessai.golive.models import CheckoutCopy, Evidence, ProductionSwitch, ShopPages
from kessai.shops import services as shop_services
from kessai.shops.models import Role
from tests.golive.helpers import World, client_for, fresh_shop
from tests.integration.atone import hub

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(atone_emulator: hub.Emulator) -> World:
    return fresh_shop(atone_emulator, name="よそのショップ", prefix="other-")


def test_viewers_read_the_checklist_but_run_nothing(world: World):
    viewer = client_for(world.viewer)

    page = viewer.get(reverse("golive:checklist", args=[world.test.pk]))
    run = viewer.post(reverse("golive:action", args=[world.test.pk, "run_checks"]))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="item-keys" data-status="pending"' in html
    assert 'data-testid="item-checkout_copy" data-status="ng"' in html
    assert 'data-testid="run-checks"' not in html
    assert 'data-testid="switch-production"' not in html
    assert run.status_code == 403
    assert not Evidence.objects.exists()


def test_operators_run_checks_but_cannot_switch_or_edit(world: World):
    operator = client_for(world.operator)

    ran = operator.post(reverse("golive:action", args=[world.test.pk, "run_checks"]), follow=True)
    switch = operator.post(reverse("golive:switch", args=[world.test.pk]), {"override_reason": "x" * 20})
    edit = operator.post(reverse("golive:copy", args=["atone"]), {"action": "save", "name": "atone"})
    pages = operator.post(reverse("golive:pages"), {"payment_guide_url": "https://shop.example.jp/guide"})

    assert ran.status_code == 200
    assert "接続テストとページの確認を実行しました。" in ran.content.decode()
    assert 'data-testid="item-keys" data-status="ok"' in ran.content.decode()
    assert Evidence.objects.get(key="connection_test").actor == "operator"
    assert (switch.status_code, edit.status_code, pages.status_code) == (403, 403, 403)
    assert not ProductionSwitch.objects.exists()
    assert not CheckoutCopy.objects.exists()
    assert not ShopPages.objects.exists()


def test_actions_need_post(world: World):
    response = client_for(world.owner).get(reverse("golive:action", args=[world.test.pk, "run_checks"]))
    assert response.status_code == 405
    assert not Evidence.objects.exists()


def test_another_shops_account_is_not_found(world: World, other: World):
    owner = client_for(world.owner)
    for url in (
        reverse("golive:checklist", args=[other.test.pk]),
        reverse("golive:mail", args=[other.test.pk]),
    ):
        assert owner.get(url).status_code == 404
    for url in (
        reverse("golive:action", args=[other.test.pk, "test_purchase"]),
        reverse("golive:switch", args=[other.test.pk]),
        reverse("golive:mail", args=[other.test.pk]),
    ):
        assert (
            owner.post(url, {"override_reason": "x" * 20, "confirm": ["1", "2", "3", "4", "5", "6"]}).status_code == 404
        )
    assert owner.get(reverse("golive:copy", args=["paidy"])).status_code == 404  # no account of that provider
    assert not Evidence.objects.exists()
    assert not ProductionSwitch.objects.exists()


def test_owner_edits_the_copy_previews_it_and_copies_the_snippets(world: World):
    owner = client_for(world.owner)
    url = reverse("golive:copy", args=["atone"])
    form = {
        "action": "save",
        "name": "atone 翌月払い(コンビニ/口座振替)",
        "banner_url": "https://atone.be/images/banner.png",
        "banner_link": "https://atone.be/",
        "description": "<p>atone (アトネ) は誰でもすぐに使える翌月払いです。</p><script>alert(1)</script>",
        "instructions": "<p>翌月10日までにお支払いください。</p>",
        "notes": "<ul><li>決済手数料は無料です。</li></ul>",
    }

    saved = owner.post(url, form, follow=True)
    applied = owner.post(url, {"action": "apply"}, follow=True)

    assert "決済選択画面の文言を保存しました。" in saved.content.decode()
    html = applied.content.decode()
    assert "1件の支払方法に反映しました。" in html
    assert "<script>alert(1)</script>" not in html
    assert 'data-testid="method-display-atone" data-official="false"' in html  # shortened: not the official copy
    assert 'id="guide-snippet"' in html
    assert 'id="legal-snippet"' in html
    assert (
        CheckoutCopy.objects.get(shop=world.shop).description
        == "<p>atone (アトネ) は誰でもすぐに使える翌月払いです。</p>"
    )
    assert [e.action for e in AuditEntry.objects.order_by("id")] == ["golive.copy.save", "golive.copy.apply"]

    bad = owner.post(url, {**form, "banner_link": "ftp://atone.be/"})
    assert bad.status_code == 400
    assert "バナーのリンク先は http:// または https:// で始まるURLで入力してください。" in bad.content.decode()


def test_the_agency_view_lists_every_shop_and_what_blocks_it(world: World, other: World, atone_emulator: hub.Emulator):
    agent = world.owner.user
    shop_services.add_staff(other.shop, username=agent.username, password="x", role=Role.VIEWER)
    client = client_for(world.owner)

    html = client.get(reverse("golive:agency")).content.decode()

    for shop in (world.shop, other.shop):
        assert f'data-testid="agency-{shop.pk}-atone" data-status="blocked"' in html
    assert html.count("認証鍵の設定と接続テスト(テスト環境)") == 2
    assert "よそのショップ" in html
    assert "atone 導入ショップ" in html

    opened = client.post(reverse("golive:agency_open"), {"shop": other.shop.pk})
    assert opened.status_code == 302
    assert client.session[SESSION_SHOP_KEY] == other.shop.pk
    stranger = fresh_shop(atone_emulator, name="無関係のショップ", prefix="stranger-")
    assert client.post(reverse("golive:agency_open"), {"shop": stranger.shop.pk}).status_code == 404
    assert client.session[SESSION_SHOP_KEY] == other.shop.pk


def test_pages_and_contact_are_saved_by_owners(world: World, client: Any):
    owner = client_for(world.owner)

    response = owner.post(
        reverse("golive:pages"),
        {"payment_guide_url": "https://shop.example.jp/guide", "legal_notice_url": "javascript:1", "contact_name": ""},
    )
    assert response.status_code == 400
    assert not ShopPages.objects.exists()

    owner.post(reverse("golive:pages"), {"payment_guide_url": "https://shop.example.jp/guide", "contact_name": "山田"})
    assert ShopPages.objects.get(shop=world.shop).contact_name == "山田"


def test_the_overview_lists_each_provider_with_its_status(world: World):
    html = client_for(world.viewer).get(reverse("golive:index")).content.decode()

    assert 'data-testid="provider-atone" data-status="blocked"' in html
    assert reverse("golive:checklist", args=[world.test.pk]) in html


def test_the_mail_page_shows_the_draft_and_only_owners_send_it(world: World, settings: Any):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    url = reverse("golive:mail", args=[world.test.pk])
    owner = client_for(world.owner)

    page = owner.get(url).content.decode()
    assert 'value="start@atone.be"' in page
    assert 'value="サービス開始準備完了 株式会社アトネ商店"' in page
    assert page.count('name="confirm"') == 6
    assert client_for(world.operator).post(url, {"confirm": ["1", "2", "3", "4", "5", "6"]}).status_code == 403

    partial = owner.post(url, {"confirm": ["1", "2"]})
    assert partial.status_code == 400
    assert "送信前の確認事項をすべて確認してください" in partial.content.decode()
    sent = owner.post(url, {"confirm": ["1", "2", "3", "4", "5", "6"]}, follow=True)
    assert "start@atone.be に準備完了連絡を送信しました。" in sent.content.decode()
    assert 'data-testid="mail-sent"' in sent.content.decode()

    from django.core import mail as outbox

    (message,) = outbox.outbox
    assert (message.to, message.subject) == (["start@atone.be"], "サービス開始準備完了 株式会社アトネ商店")


def test_an_agency_shop_without_accounts_is_listed(world: World):
    empty = shop_services.create_shop(name="準備前のショップ")
    shop_services.add_staff(empty, username=world.owner.user.username, password="x", role=Role.OWNER)

    html = client_for(world.owner).get(reverse("golive:agency")).content.decode()

    assert f'data-testid="agency-{empty.pk}" data-status="none"' in html
