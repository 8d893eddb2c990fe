"""Screenshots of the back-office's main screens for docs/guide-ja.md (docs/screenshots/*.png).

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/

Builds a throw-away SQLite database with a realistic Japanese demo shop (30 days of atone orders in every
payment state, a few 決済エラーログ entries), serves the back-office on 127.0.0.1 and drives Debian's chromium
(headless) through Playwright. Payments go to the in-memory fake provider of the test suite, registered under
the atone code, so no network is used.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import timedelta
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="kessai-shots-"))
os.environ["KESSAI_VAR_DIR"] = str(TMP)
os.environ["DATABASE_URL"] = f"sqlite:///{TMP / 'shots.sqlite3'}"
os.environ["DJANGO_SETTINGS_MODULE"] = "kessai.config.settings"
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

import django  # noqa: E402

django.setup()

import time_machine  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from kessai.common.jst import now_jst  # noqa: E402
from kessai.common.text import ZIP_MESSAGE  # noqa: E402
from kessai.payments import orders as order_service  # noqa: E402
from kessai.payments import services  # noqa: E402
from kessai.providers import registry  # noqa: E402
from kessai.providers.base import ProviderDeclined, ProviderError, ProviderRequestInvalid  # noqa: E402
from kessai.shops import services as shop_services  # noqa: E402
from kessai.shops.models import Role  # noqa: E402
from tests.fakes.provider import LEDGER  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
PASSWORD = "kessai-demo-2024"  # noqa: S105 - a throw-away demo database
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CUSTOMERS = [
    ("山田 太郎", "ヤマダ タロウ", "東京都港区赤坂1-2-3", "107-0052"),
    ("佐藤 花子", "サトウ ハナコ", "大阪府大阪市北区梅田2-4-9", "530-0001"),
    ("鈴木 一郎", "スズキ イチロウ", "福井県福井市大手3-10-1", "910-0005"),
    ("高橋 美咲", "タカハシ ミサキ", "北海道札幌市中央区北1条西2-1", "060-0001"),
    ("田中 健太", "タナカ ケンタ", "福岡県福岡市博多区博多駅前1-1", "812-0011"),
    ("伊藤 さくら", "イトウ サクラ", "愛知県名古屋市中村区名駅4-7-1", "450-0002"),
]
ITEMS = [("P-1", "1人掛けソファ", 12800), ("P-2", "ダイニングテーブル", 39800), ("P-3", "クッションカバー", 1980)]


def seed() -> str:
    call_command("migrate", verbosity=0)
    registry.register("atone", "tests.fakes.provider:FakeProvider")  # no network: the test suite's fake
    LEDGER.reset()
    shop = shop_services.create_shop(name="家具のやまだ", company="株式会社やまだ家具", admin_email="shop@example.jp")
    shop_services.add_staff(shop, username="demo", password=PASSWORD, role=Role.OWNER)
    account = shop_services.create_provider_account(
        shop,
        provider="atone",
        environment="test",
        credentials={"public_key": "pk_test_yamada_0001", "secret_key": "sk_test_yamada_secret_0001"},
        options={"capture": "manual"},
    )
    method = shop_services.create_payment_method(
        shop,
        provider_account=account,
        code="atone",
        name="atone 翌月払い(コンビニ/口座振替)",
        description="<p>お支払いは翌月まとめて、コンビニ/口座振替で。</p>",
    )
    rnd = random.Random(7)  # noqa: S311 - reproducible demo data
    now = now_jst()
    with time_machine.travel(now - timedelta(days=2, hours=3), tick=True):
        _order(shop, method.pk, 999, rnd)
        failed = shop.payments.order_by("id").first()
        if failed is not None:  # what staff typically find in the log (the Welcart manual's examples)
            services.record_error(failed, None, ProviderDeclined("金額超過", code="authorize:1"))
            services.record_error(failed, None, ProviderRequestInvalid(ZIP_MESSAGE, code="authorize:E0011"))
    number = 1000
    for day in range(29, -1, -1):
        for _ in range(rnd.randint(1, 4)):
            number += 1
            moment = now - timedelta(days=day, hours=rnd.randint(0, 8), minutes=rnd.randint(0, 59))
            with time_machine.travel(moment, tick=True):
                _order(shop, method.pk, number, rnd)
    return shop.pk


def _order(shop: object, method_id: str, number: int, rnd: random.Random) -> None:
    name, kana, address, zip_code = rnd.choice(CUSTOMERS)
    sku, item, price = rnd.choice(ITEMS)
    qty = rnd.randint(1, 2)
    order = order_service.create_order(
        shop,  # type: ignore[arg-type]
        {
            "shop_order_no": f"{number:08d}",
            "amount": price * qty + 1024,
            "items": [
                {"sku": sku, "name": item, "unit_price": price, "quantity": qty},
                {"sku": "ship", "name": "送料", "unit_price": 1024, "quantity": 1},
            ],
            "customer": {
                "name": name,
                "name_kana": kana,
                "email": f"c{number}@example.jp",
                "phone": "090-1234-5678",
                "zip_code": zip_code,
                "address": address,
            },
        },
    )
    roll = rnd.random()
    LEDGER.script.append("decline" if roll < 0.08 else "pending" if roll < 0.13 else "ok")
    try:
        payment = services.start_payment(order, method_ref=method_id, actor="checkout").payment
    except ProviderError:
        return
    if payment.state == "authorized" and rnd.random() < 0.55:
        payment = services.capture(payment, actor="user:demo")
    if payment.state == "captured" and rnd.random() < 0.06:
        services.cancel(payment, actor="user:demo")


def serve() -> str:
    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def shoot(base: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        page = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 860}).new_page()
        page.goto(f"{base}/login/")
        page.get_by_label("ユーザー名").fill("demo")
        page.get_by_label("パスワード").fill(PASSWORD)
        page.get_by_role("button", name="ログイン").click()
        page.wait_for_selector("svg.chart")
        page.screenshot(path=OUT / "dashboard.png", full_page=True)
        page.goto(f"{base}/orders/")
        page.screenshot(path=OUT / "orders.png")
        page.locator("#order-table tbody tr").filter(has_text="仮売上").first.get_by_role("link").first.click()
        page.get_by_role("button", name="決済情報").click()
        page.locator("#cancel-panel summary").click()
        page.screenshot(path=OUT / "payment-dialog.png")
        page.goto(f"{base}/settings/accounts/atone/")
        page.screenshot(path=OUT / "accounts.png", full_page=True)
        page.goto(f"{base}/errors/")
        page.screenshot(path=OUT / "error-log.png")
        page.goto(f"{base}/settings/payment-methods/")
        page.screenshot(path=OUT / "payment-methods.png")
        browser.close()


def has_japanese_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    found = subprocess.run([fc_list, ":lang=ja"], capture_output=True, text=True, check=False)  # noqa: S603
    return bool(found.stdout.strip())


def main() -> int:
    if not has_japanese_font():
        print("no Japanese font for chromium: apt-get install fonts-ipafont-gothic", file=sys.stderr)
        return 1
    seed()
    shoot(serve())
    print("\n".join(str(p.relative_to(ROOT)) for p in sorted(OUT.glob("*.png"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
