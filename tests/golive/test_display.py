"""Checkout copy kit: defaults from atone's guide, editable and sanitised, what ``display_for`` returns, and the
snippets (which pass the same checks the crawler applies to the shop's pages). One fee amount everywhere."""

from __future__ import annotations

import pytest

from kessai.golive import display, services
from kessai.golive.kits import ATONE
from kessai.golive.text import read_html
from kessai.shops import services as shop_services
from kessai.shops.errors import ValidationFailed
from tests.golive.helpers import BANNER, OFFICIAL_NAME, World

pytestmark = pytest.mark.django_db

ACTOR = services.cli_actor()
FIELDS = ("name", "banner_url", "banner_link", "description", "instructions", "notes")


def fields(world: World, **changes: str) -> dict[str, str]:
    copy = display.copy_for(world.shop, "atone")
    return {**{f: getattr(copy, f) for f in FIELDS}, **changes}


def test_the_default_copy_is_the_guides_official_text(world: World):
    copy = display.copy_for(world.shop, "atone")

    assert copy.pk is None  # nothing stored until the shop edits it
    assert (copy.name, copy.banner_link, copy.banner_url) == (
        "atone 翌月払い(コンビニ/口座振替)",
        "https://atone.be/",
        "",
    )
    text = read_html(copy.description + copy.instructions + copy.notes)
    assert text.missing(ATONE.phrases_for_checkout()[1:]) == []
    assert "(1) コンビニ端末 / 銀行ATM (Pay-easy) ※標準設定" in text.text
    assert "ご利用月のみ請求手数料209円(税込)が発生いたします。 (口座振替の場合は無料)" in text.text
    assert [link.href for link in text.links] == ["https://atone.be/"]  # 「atone の公式ページ」


def test_display_for_shows_the_methods_copy_and_says_whether_it_is_official(world: World):
    before = display.display_for(world.method)
    assert before["name"] == "あと払い"
    assert before["official"]["matches"] is False
    assert before["official"]["missing"][:3] == [
        f"決済名「{OFFICIAL_NAME}」(現在:「あと払い」)",
        "バナー画像",
        "バナーのリンク先(https://atone.be/)",
    ]

    display.save_copy(ACTOR, world.shop, "atone", **fields(world, banner_url=BANNER))
    display.apply_copy(ACTOR, world.shop, "atone")
    world.method.refresh_from_db()
    shown = display.display_for(world.method, amount=12_000)

    assert set(shown) == {
        "payment_method",
        "code",
        "provider",
        "name",
        "banner",
        "description_html",
        "instructions_html",
        "notes_html",
        "fee",
        "official",
    }
    assert (shown["name"], shown["banner"]) == (OFFICIAL_NAME, {"image_url": BANNER, "link_url": "https://atone.be/"})
    assert shown["official"] == {"matches": True, "missing": [], "source": ATONE.source}
    assert "翌月10日までにお支払いください" in shown["instructions_html"]
    assert shown["fee"] is None  # no 手数料設定


def test_editable_html_is_sanitised_and_bad_urls_are_refused(world: World):
    saved = display.save_copy(
        ACTOR,
        world.shop,
        "atone",
        **fields(world, notes='<ul><li onclick="x()">決済手数料は無料です。</li></ul><script>alert(1)</script>'),
    )
    assert saved.notes == "<ul><li>決済手数料は無料です。</li></ul>"

    with pytest.raises(ValidationFailed) as refused:
        display.save_copy(ACTOR, world.shop, "atone", **fields(world, name=" ", banner_link="javascript:alert(1)"))
    assert set(refused.value.errors) == {"name", "banner_link"}

    reset = display.reset_copy(ACTOR, world.shop, "atone")
    assert reset.notes == display.default_copy(world.shop, "atone").notes


def test_the_fee_is_the_same_in_display_snippets_and_the_order(world: World):
    shop_services.set_fee_rule(
        world.shop,
        "atone",
        [{"min_amount": 1, "max_amount": 9_999, "fee": 205}, {"min_amount": 10_000, "max_amount": 999_999, "fee": 330}],
    )

    shown = display.display_for(world.method, amount=13_824)
    guide = display.guide_page_snippet(world.shop, "atone")
    legal = display.legal_notice_snippet(world.shop, "atone")

    text = "決済手数料: 1円〜9,999円のご注文 205円 / 10,000円〜999,999円のご注文 330円(税込)"
    assert (shown["fee"]["amount"], shown["fee"]["text"], shown["fee"]["available"]) == (330, text, True)
    assert text in read_html(guide).text
    assert text in read_html(legal).text
    assert display.display_for(world.method, amount=1_000_000)["fee"]["available"] is False


def test_the_snippets_carry_what_the_crawler_looks_for(world: World):
    display.save_copy(ACTOR, world.shop, "atone", **fields(world, banner_url=BANNER))

    guide = read_html(display.guide_page_snippet(world.shop, "atone"))
    legal = read_html(display.legal_notice_snippet(world.shop, "atone"))

    assert guide.missing(ATONE.phrases_for_guide_page()) == []
    assert [link.images for link in guide.banner_links("https://atone.be/")] == [[BANNER]]
    assert legal.missing(ATONE.phrases_for_legal_page()) == []


def test_apply_needs_a_payment_method(atone_emulator):
    from tests.integration.atone import hub

    shop = shop_services.create_shop(name="支払方法なし")
    hub.atone_account(shop, atone_emulator)
    with pytest.raises(ValidationFailed) as refused:
        display.apply_copy(ACTOR, shop, "atone")
    assert refused.value.code == "no_payment_method"
