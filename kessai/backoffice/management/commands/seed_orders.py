"""``kessai seed_orders --count 1000000 --shop NAME``: bulk demo/benchmark data for the 受注リスト.

Orders (with realistic Japanese customers) and one payment each, spread over the last ``--days`` days with
time-ordered ids, inserted with ``bulk_create`` in batches. Payments are written as they would stand after
their provider calls (仮売上 / 売上計上 / 取消済み / 与信NG / 保留 / 要確認) without an operation history:
this is data for screens and benchmarks, not for the ledger. A shop that does not exist is created with an
atone test account (dummy keys, never called) and a payment method.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from kessai.payments.models import Order, Payment
from kessai.payments.state import PaymentState
from kessai.shops import services as shop_services
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop

SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "松本",
    "井上",
]
GIVEN = ["翔太", "陽菜", "蓮", "結衣", "大翔", "葵", "悠真", "さくら", "湊", "美咲", "健一", "花子", "太郎", "直子"]
PLACES = [
    ("東京都", "港区赤坂1-2-3", "107-0052"),
    ("大阪府", "大阪市北区梅田2-4-9", "530-0001"),
    ("福井県", "福井市大手3-10-1", "910-0005"),
    ("北海道", "札幌市中央区北1条西2-1", "060-0001"),
    ("福岡県", "福岡市博多区博多駅前1-1", "812-0011"),
    ("愛知県", "名古屋市中村区名駅4-7-1", "450-0002"),
    ("神奈川県", "横浜市西区みなとみらい2-3-1", "220-0012"),
    ("沖縄県", "那覇市久茂地1-1-1", "900-0015"),
]
ITEMS = [("P-1", "1人掛けソファ", 12800), ("P-2", "ダイニングテーブル", 39800), ("P-3", "クッションカバー", 1980)]
STATES = [  # (state, weight)
    (PaymentState.AUTHORIZED, 40),
    (PaymentState.CAPTURED, 45),
    (PaymentState.CANCELLED, 5),
    (PaymentState.DECLINED, 5),
    (PaymentState.PENDING_REVIEW, 3),
    (PaymentState.UNKNOWN, 2),
]
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _ulid_at(ms: int, rnd: random.Random) -> str:
    value = (ms << 80) | rnd.getrandbits(80)
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in range(25, -1, -1))


class Command(BaseCommand):
    help = "Seed many orders with payments for the back-office (受注リスト) benchmark and demos."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--count", type=int, default=10_000)
        parser.add_argument("--shop", required=True, help="shop id or name (created when missing)")
        parser.add_argument("--days", type=int, default=365)
        parser.add_argument("--batch", type=int, default=5_000)
        parser.add_argument("--seed", type=int, default=20_240_101)

    def handle(self, *args: Any, **opts: Any) -> None:
        count, batch = int(opts["count"]), int(opts["batch"])
        if count < 1 or batch < 1:
            raise CommandError("--count and --batch must be positive")
        shop, account, method = self._shop(str(opts["shop"]))
        rnd = random.Random(int(opts["seed"]))  # noqa: S311 - reproducible demo data, not secrets
        now = timezone.now()
        start = now - timedelta(days=int(opts["days"]))
        span_ms = int((now - start).total_seconds() * 1000)
        base_ms = int(start.timestamp() * 1000)
        offset = Order.objects.filter(shop=shop).count()
        states = [s for s, _ in STATES]
        weights = [w for _, w in STATES]
        order_created = Order._meta.get_field("created_at")
        payment_created = Payment._meta.get_field("created_at")
        order_created.auto_now_add = payment_created.auto_now_add = False
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:  # bulk load: no fsync per batch (the data is reproducible)
                cursor.execute("PRAGMA synchronous = OFF")
                cursor.execute("PRAGMA journal_mode = WAL")
        began = time.monotonic()
        try:
            done = 0
            while done < count:
                n = min(batch, count - done)
                stamps = sorted(base_ms + rnd.randrange(span_ms) for _ in range(n))
                orders, payments = [], []
                for i, ms in enumerate(stamps):
                    seq = offset + done + i + 1
                    order, payment = self._row(shop, account, method, seq, ms, rnd, states, weights)
                    orders.append(order)
                    payments.append(payment)
                with transaction.atomic():
                    Order.objects.bulk_create(orders, batch_size=batch)
                    Payment.objects.bulk_create(payments, batch_size=batch)
                done += n
                if done % (batch * 20) == 0 or done == count:
                    self.stdout.write(f"{done:,}/{count:,} orders ({time.monotonic() - began:.0f}s)")
        finally:
            order_created.auto_now_add = payment_created.auto_now_add = True
        with connection.cursor() as cursor:  # fresh planner statistics after a bulk load
            cursor.execute("ANALYZE")
        self.stdout.write(f"shop={shop.pk} orders={count} seconds={time.monotonic() - began:.1f}")

    def _shop(self, ref: str) -> tuple[Shop, ProviderAccount, PaymentMethod]:
        shop = Shop.objects.filter(pk=ref).first() or Shop.objects.filter(name=ref).order_by("created_at").first()
        if shop is None:
            shop = shop_services.create_shop(name=ref, company="株式会社シード", admin_email="seed@example.jp")
        account = ProviderAccount.objects.filter(shop=shop, active=True).order_by("created_at").first()
        if account is None:
            account = shop_services.create_provider_account(
                shop,
                provider="atone",
                environment="test",
                credentials={"public_key": "seed-public-key", "secret_key": "seed-secret-key"},
            )
        method = PaymentMethod.objects.filter(shop=shop, provider_account=account).first()
        if method is None:
            method = shop_services.create_payment_method(
                shop, provider_account=account, code=f"seed-{account.provider}", name="後払い"
            )
        return shop, account, method

    def _row(
        self,
        shop: Shop,
        account: ProviderAccount,
        method: PaymentMethod,
        seq: int,
        ms: int,
        rnd: random.Random,
        states: list[PaymentState],
        weights: list[int],
    ) -> tuple[Order, Payment]:
        created = datetime.fromtimestamp(ms / 1000, tz=UTC)
        name = f"{rnd.choice(SURNAMES)} {rnd.choice(GIVEN)}"
        prefecture, street, zip_code = rnd.choice(PLACES)
        phone = f"090-{rnd.randrange(10_000):04d}-{rnd.randrange(10_000):04d}"
        sku, item, price = rnd.choice(ITEMS)
        qty = rnd.randint(1, 3)
        amount = price * qty + 1024
        items = [
            {"sku": sku, "name": item, "unit_price": price, "quantity": qty},
            {"sku": "ship", "name": "送料", "unit_price": 1024, "quantity": 1},
        ]
        number = f"S{seq:08d}"
        order = Order(
            id=f"ord_{_ulid_at(ms, rnd)}",
            shop=shop,
            shop_order_no=number,
            amount=amount,
            items=items,
            customer={"name": name, "phone": phone, "zip_code": zip_code, "address": prefecture + street},
            customer_name=name,
            customer_phone=phone,
            customer_email=f"buyer{seq}@example.jp",
            prefecture=prefecture,
            status="shipped" if rnd.random() < 0.4 else "new",
            created_at=created,
        )
        state = rnd.choices(states, weights)[0]
        captured = amount if state in (PaymentState.CAPTURED, PaymentState.CANCELLED) else 0
        payment = Payment(
            id=f"pay_{_ulid_at(ms, rnd)}",
            shop=shop,
            order=order,
            payment_method=method,
            account=account,
            provider=account.provider,
            provider_ref=f"tr_{_ulid_at(ms, rnd)[-16:]}",
            shop_transaction_no=number,
            state=state,
            amount=amount,
            captured_amount=captured,
            refunded_amount=captured if state == PaymentState.CANCELLED else 0,
            needs_review=state == PaymentState.UNKNOWN,
            created_at=created,
        )
        return order, payment
