"""The back-office in a real browser: Debian's chromium (headless) through Playwright, against the live server.

Payments use the fake provider. The bulk job is run by this test's thread while the page polls the job over
htmx, so the progress bar moves only through genuine polling."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db.backends.signals import connection_created
from playwright.sync_api import Browser, Page, expect

from kessai.payments.bulk import run_bulk_job
from kessai.payments.models import BulkJob, Payment, PaymentError
from kessai.shops.models import PaymentMethod
from tests import factories
from tests.backoffice.fixtures import PASSWORD, ShopWorld, make_world
from tests.browser import chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors


@pytest.fixture(autouse=True)
def sqlite_polls_do_not_block_the_worker() -> Iterator[None]:
    """On SQLite the test database is a shared-cache in-memory database; the live server answers each
    request on a new connection. Table read locks taken by the page's polling would make the bulk job
    (run on this thread) fail with "database table is locked", so the server's connections read
    uncommitted. PostgreSQL needs nothing of the sort."""

    def dirty_reads(sender: Any, connection: Any, **kwargs: Any) -> None:
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA read_uncommitted = 1")

    connection_created.connect(dirty_reads)
    yield
    connection_created.disconnect(dirty_reads)


@pytest.fixture
def shop_world(fake_ledger: Any) -> ShopWorld:
    return make_world()


def login(page: Page, live_server: Any, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("ユーザー名").fill(username)
    page.get_by_label("パスワード").fill(password)
    page.get_by_role("button", name="ログイン").click()


def test_login_and_lockout_after_five_failures(page, live_server, shop_world):
    for attempt in range(1, 6):
        login(page, live_server, "operator", "wrong-password")
        if attempt < 5:
            expect(page.locator("#login-error")).to_have_text("ユーザー名またはパスワードが正しくありません。")
    expect(page.locator("#login-locked")).to_contain_text("ログインに5回失敗したため、アカウントをロックしました。")

    login(page, live_server, "operator")  # the right password is refused while locked
    expect(page.locator("#login-locked")).to_be_visible()

    login(page, live_server, "viewer")
    expect(page.get_by_role("heading", name="ダッシュボード")).to_be_visible()


def test_capture_from_the_payment_dialog(page, live_server, shop_world):
    payment = factories.authorized_payment(shop_world.shop, shop_world.method)
    login(page, live_server, "operator")
    page.goto(f"{live_server.url}/orders/")
    page.get_by_role("link", name=payment.order.shop_order_no).click()

    page.get_by_role("button", name="決済情報").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#dialog-state")).to_have_text("仮売上")
    dialog.get_by_role("button", name="売上計上").click()

    expect(dialog.locator("#dialog-ok")).to_have_text("売上計上しました。")
    expect(dialog.locator("#dialog-state")).to_have_text("売上計上")
    expect(dialog.locator("#payment-history tbody tr")).to_have_count(2)
    payment.refresh_from_db()
    assert payment.state == "captured"


def test_bulk_capture_of_50_orders_with_a_live_progress_bar(page, live_server, shop_world, fake_ledger):
    payments = [factories.authorized_payment(shop_world.shop, shop_world.method) for _ in range(50)]
    progress_polls: list[str] = []
    page.on("request", lambda r: progress_polls.append(r.url) if "/progress/" in r.url else None)
    login(page, live_server, "operator")
    page.goto(f"{live_server.url}/orders/")
    page.get_by_label("すべて選択").check()
    expect(page.locator("input[name=payment]:checked")).to_have_count(50)

    page.get_by_role("button", name="売上確定").click()

    expect(page.locator("#job-count")).to_have_text("0/50")  # queued: nothing has run yet
    job = BulkJob.objects.get()
    fake_ledger.delay = 0.03  # each capture takes a moment, so the page sees intermediate progress
    run_bulk_job(job.pk)
    expect(page.locator("#job-finished")).to_be_visible(timeout=30_000)
    expect(page.locator("#job-count")).to_have_text("50/50")
    expect(page.locator("#job-bar")).to_have_attribute("value", "50")
    expect(page.locator("#job-results tbody tr")).to_have_count(50)
    assert len(progress_polls) >= 2
    assert set(Payment.objects.filter(pk__in=[p.pk for p in payments]).values_list("state", flat=True)) == {"captured"}


def test_gmo_atobarai_form_refuses_a_malformed_shop_code(page, live_server, shop_world):
    login(page, live_server, "owner")
    page.goto(f"{live_server.url}/settings/accounts/")
    page.get_by_role("link", name="設定する GMO 後払い").click()
    panel = page.locator("#panel-test")
    panel.get_by_label("認証 ID / サイト ID").fill("0123456789")
    panel.get_by_label("加盟店コード").fill("zz00001")
    for field in panel.locator("input[type=password]").all():
        field.fill("secret-value-123")
    panel.get_by_role("button", name="テスト環境の設定を保存").click()

    expect(page.locator("#test-gmo_atobarai-shop_code-err")).to_have_text(
        "abから始まる加盟店コードを設定してください。"
    )
    expect(page.locator("#test-gmo_atobarai-shop_code")).to_have_attribute("aria-invalid", "true")


def test_drag_and_drop_sorts_payment_methods(page, live_server, shop_world):
    account = shop_world.method.provider_account
    b = factories.fake_method(shop_world.shop, account, code="b")
    c = factories.fake_method(shop_world.shop, account, code="c")
    PaymentMethod.objects.filter(pk=b.pk).update(name="コンビニ後払い")
    PaymentMethod.objects.filter(pk=c.pk).update(name="口座振替")
    login(page, live_server, "owner")
    page.goto(f"{live_server.url}/settings/payment-methods/")

    page.drag_and_drop(
        f'li[data-id="{c.pk}"] .handle', f'li[data-id="{shop_world.method.pk}"]', target_position={"x": 40, "y": 4}
    )

    expect(page.get_by_text("支払方法の並び順を保存しました。")).to_be_visible()
    expect(page.locator("#method-list .method-name")).to_have_text(["口座振替", "Fake 後払い", "コンビニ後払い"])
    assert list(PaymentMethod.objects.order_by("sort").values_list("code", flat=True)) == ["c", "fake", "b"]

    page.get_by_role("button", name="口座振替 を下へ").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#method-list .method-name")).to_have_text(["Fake 後払い", "口座振替", "コンビニ後払い"])


def test_error_banner_disappears_after_log_deletion(page, live_server, shop_world):
    PaymentError.objects.create(
        shop=shop_world.shop, provider="fake", link_key="A-1", status="ProviderDeclined", message="金額超過"
    )
    login(page, live_server, "operator")
    banner = page.locator("#error-banner")
    expect(banner).to_contain_text("決済エラーが発生しました。決済エラーログを確認してください。発生日時:[")

    banner.get_by_role("link", name="決済エラーログ").click()
    expect(page.locator("#error-table")).to_contain_text("与信NG: 金額超過")
    page.get_by_role("button", name="ログ削除(すべて)").click()

    expect(page.get_by_text("1件のエラーログを削除しました。")).to_be_visible()
    expect(page.locator("#error-banner")).to_have_count(0)
    assert not PaymentError.objects.exists()


def test_a_viewer_is_refused_a_capture(page, live_server, shop_world):
    payment = factories.authorized_payment(shop_world.shop, shop_world.method)
    login(page, live_server, "viewer")
    page.goto(f"{live_server.url}/orders/{payment.order_id}/")
    page.get_by_role("button", name="決済情報").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator("#viewer-note")).to_be_visible()
    expect(dialog.locator("#btn-capture")).to_be_disabled()

    # A tampered page (the button re-enabled) still meets the server's refusal.
    dialog.locator("#btn-capture").evaluate("b => b.disabled = false")
    dialog.locator("#btn-capture").click()

    expect(dialog.locator("#dialog-flash")).to_contain_text("閲覧のみの権限では操作できません。")
    payment.refresh_from_db()
    assert payment.state == "authorized"
