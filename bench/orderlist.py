"""受注リスト benchmark: server time (query + render) of the first page and of filtered pages.

    kessai seed_orders --count 1000000 --shop ベンチショップ      # once
    python bench/orderlist.py --shop ベンチショップ --runs 60
    make bench-orderlist                                          # both, on a fresh PostgreSQL (long)

Each page is requested through Django's full stack (middleware, session, role check, selectors, template)
with the test client, signed in as a viewer of the shop; the time is measured around the request, so it
is what the server spends, without network or browser. Prints p50 / p95 / max in milliseconds, the number
of SQL queries per page, and fails if a page runs a COUNT over the orders.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kessai.config.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from harness import LoadSampler, machine, write_result  # noqa: E402  (bench/, next to this script)

from kessai.common.jst import today_jst  # noqa: E402
from kessai.payments.models import Order  # noqa: E402
from kessai.shops.models import Membership, Role, Shop  # noqa: E402

TARGET_P95_MS = 150.0


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _client(shop: Shop) -> Client:
    user, _ = get_user_model().objects.get_or_create(username="bench-viewer")
    Membership.objects.get_or_create(user=user, shop=shop, defaults={"role": Role.VIEWER})
    client = Client()
    client.force_login(user)
    return client


def _pages(shop: Shop) -> list[tuple[str, str, bool]]:
    total_hint = Order.objects.filter(shop=shop).order_by("-id").values_list("id", flat=True)
    middle = total_hint[1000:1001].first() or ""
    last_no = Order.objects.filter(shop=shop).order_by("-id").values_list("shop_order_no", flat=True).first() or ""
    month_ago = (today_jst() - timedelta(days=30)).isoformat()
    # (label, url, counts toward the ≤ 150 ms target: the first page and the filtered pages)
    return [
        ("first page", "/orders/", True),
        ("filtered: 決済状況=与信NG", "/orders/?state=declined", True),
        (
            "filtered: 決済状況=仮売上 + 決済会社 + 受注日 30日",
            f"/orders/?state=authorized&provider=atone&from={month_ago}",
            True,
        ),
        ("page 21 (keyset ?after=)", f"/orders/?after={middle}", True),
        ("search: 注文番号 (exact, indexed)", f"/orders/?q={last_no}", False),
        ("search: 氏名 佐藤 (partial, common)", "/orders/?q=佐藤", False),
        ("search: 氏名 no match (partial, full scan)", "/orders/?q=該当者なし", False),
    ]


def measure(client: Client, url: str, runs: int) -> tuple[list[float], int]:
    for _ in range(3):  # warm caches (templates, query plans)
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    sqls = [q["sql"] for q in ctx.captured_queries]
    counting = [s for s in sqls if "COUNT(" in s.upper() and "payments_order" in s]
    assert not counting, f"{url} counts orders: {counting}"
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    return samples, len(sqls)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shop", required=True, help="shop id or name")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--output", default="orderlist", help="bench/results/<name>.json ('' = none)")
    args = parser.parse_args()
    shop = Shop.objects.filter(pk=args.shop).first() or Shop.objects.filter(name=args.shop).first()
    if shop is None:
        parser.error(f"no shop {args.shop!r}: seed it with `kessai seed_orders --shop {args.shop}`")
    orders = Order.objects.filter(shop=shop).count()  # once, for the report (the page itself never counts)
    client = _client(shop)
    info = machine()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    if connection.vendor == "sqlite":
        version = connection.Database.sqlite_version
    else:  # e.g. 150018 → 15.18
        version = f"{connection.pg_version // 10000}.{connection.pg_version % 10000}"
    print(f"database: {connection.vendor} {version}")
    python = f"{platform.python_implementation()} {platform.python_version()}"
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {python}")
    print(f"load average: {os.getloadavg()[0]:.1f}; commit {commit.stdout.strip()}; orders in shop: {orders:,}")
    print("| page | p50 ms | p95 ms | max ms | queries |\n| --- | ---: | ---: | ---: | ---: |")
    worst = 0.0
    pages = []
    with LoadSampler() as load:
        for label, url, target in _pages(shop):
            samples, queries = measure(client, url, args.runs)
            p95 = _percentile(samples, 0.95)
            worst = max(worst, p95) if target else worst
            p50 = statistics.median(samples)
            print(f"| {label} | {p50:.1f} | {p95:.1f} | {max(samples):.1f} | {queries} |")
            pages.append(
                {
                    "page": label,
                    "url": url,
                    "counts_toward_target": target,
                    "p50_ms": round(p50, 1),
                    "p95_ms": round(p95, 1),
                    "max_ms": round(max(samples), 1),
                    "queries": queries,
                }
            )
    verdict = "OK" if worst <= TARGET_P95_MS else "OVER"
    print(f"worst p95 of the first and filtered pages {worst:.1f} ms (target ≤ {TARGET_P95_MS:.0f} ms): {verdict}")
    if args.output:
        write_result(
            args.output,
            {
                "scenario": "orderlist",
                "command": "python bench/orderlist.py " + " ".join(sys.argv[1:]),
                "machine": {**info, "database": f"{connection.vendor} {version}"},
                "orders_in_shop": orders,
                "runs_per_page": args.runs,
                **load.as_dict(),
                "pages": pages,
                "verdict": {
                    "target": f"p95 ≤ {TARGET_P95_MS:.0f} ms (first and filtered pages)",
                    "worst_p95_ms": round(worst, 1),
                    "met": worst <= TARGET_P95_MS and orders >= 1_000_000,
                },
            },
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
