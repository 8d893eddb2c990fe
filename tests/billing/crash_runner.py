"""Helper process of the crash test (tests/billing/test_crash.py) and of bench/billing_run.py.

    python -m tests.billing.crash_runner seed --subscriptions N --atone-url URL --tokens K
    python -m tests.billing.crash_runner settle        # after the kills: janitor + recovery, 10 minutes later
    python -m tests.billing.crash_runner report        # the hub's view, as JSON

Runs against DATABASE_URL like any kessai process.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kessai.config.settings")
    import django

    django.setup()


def seed(subscriptions: int, atone_url: str, tokens: int, amount: int) -> dict[str, Any]:
    import httpx
    from django.core.management import call_command
    from django.utils import timezone

    from kessai.billing import services
    from kessai.billing.dates import jst_date
    from kessai.billing.models import Subscription
    from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY
    from kessai.shops import services as shop_services

    call_command("migrate", interactive=False, verbosity=0)
    shop = shop_services.create_shop(name="継続課金クラッシュテスト", admin_email="admin@example.jp")
    account = shop_services.create_provider_account(
        shop,
        provider="atone",
        environment="test",
        credentials={"public_key": DEFAULT_PUBLIC_KEY, "secret_key": DEFAULT_SECRET_KEY},
        options={"recurring_option": True},
        base_url=atone_url.rstrip("/") + "/v1/",
    )
    shop_services.create_payment_method(shop, provider_account=account, code="atone", name="atone")
    buyer_tokens = [
        httpx.post(
            atone_url.rstrip("/") + "/_sandbox/authenticate",
            json={"phone_number": f"090{i:08d}"},
            timeout=10,
        ).json()["authentication_token"]
        for i in range(tokens)
    ]
    today = jst_date(timezone.now())
    first = services.create_subscription(
        shop,
        payment_method="atone",
        token=buyer_tokens[0],
        customer={
            "name": "継続 太郎",
            "email": "member@example.jp",
            "phone": "090-0000-0000",
            "zip_code": "107-0052",
            "address": "東京都港区赤坂1-2-3",
        },
        items=[{"sku": "SUB-1", "name": "月額プラン", "unit_price": amount, "quantity": 1}],
        amount=amount,
        first_billing_on=today,
        member_no="1",
    )
    # The rest are copies of the first (validated) one, each with its own id, member no and sealed token.
    rows = []
    for n in range(1, subscriptions):
        sub = Subscription(
            shop=shop,
            account=account,
            payment_method=first.payment_method,
            member_no=str(n + 1),
            customer=first.customer,
            customer_name=first.customer_name,
            customer_email=first.customer_email,
            items=first.items,
            amount=amount,
            initial_amount=amount,
            interval_months=1,
            billing_day=first.billing_day,
            applied_at=first.applied_at,
            first_billing_on=today,
            next_billing_on=today,
        )
        sub.order_no = f"SUB-{sub.key}"
        services.seal_token(sub, buyer_tokens[n % len(buyer_tokens)])
        rows.append(sub)
        if len(rows) == 1000:
            Subscription.objects.bulk_create(rows)
            rows = []
    Subscription.objects.bulk_create(rows)
    return {"subscriptions": Subscription.objects.count(), "due_on": today.isoformat()}


def settle() -> dict[str, Any]:
    """Ten minutes after the last kill: every claim and pending operation is past its lease."""
    import time_machine
    from django.utils import timezone

    from kessai.billing import services
    from kessai.payments.tasks import refresh_in_doubt_payments

    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=True):
        janitor = refresh_in_doubt_payments(limit=100_000)
        result = services.run_due(send_mails=False)
    return {"janitor": janitor, "run": result.as_dict()}


def report() -> dict[str, Any]:
    from django.db.models import Count

    from kessai.billing.models import Subscription, SubscriptionCycle
    from kessai.payments.models import Payment

    cycles = list(
        SubscriptionCycle.objects.values(
            "subscription_id",
            "cycle_date",
            "status",
            "payment__provider_ref",
            "payment__state",
            "payment__needs_review",
            "payment__shop_transaction_no",
        )
    )
    return {
        "subscriptions": Subscription.objects.count(),
        "cycles": [
            {
                "subscription": c["subscription_id"],
                "cycle_date": c["cycle_date"].isoformat(),
                "status": c["status"],
                "provider_ref": c["payment__provider_ref"],
                "payment_state": c["payment__state"],
                "needs_review": c["payment__needs_review"],
                "shop_transaction_no": c["payment__shop_transaction_no"],
            }
            for c in cycles
        ],
        "payments_by_state": dict(Payment.objects.values_list("state").annotate(n=Count("id")).order_by("state")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="crash_runner")
    sub = parser.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--subscriptions", type=int, required=True)
    s.add_argument("--atone-url", required=True)
    s.add_argument("--tokens", type=int, default=20)
    s.add_argument("--amount", type=int, default=3240)
    sub.add_parser("settle")
    sub.add_parser("report")
    args = parser.parse_args(argv)
    _setup()
    if args.cmd == "seed":
        out = seed(args.subscriptions, args.atone_url, args.tokens, args.amount)
    elif args.cmd == "settle":
        out = settle()
    else:
        out = report()
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
