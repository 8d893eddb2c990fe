"""The hub's records for the reconciliation, read straight from its database by a helper process (run with the
stack's environment, like any ``kessai`` process):

    python -m tests.reliability.hubview --shop shop_…      # one JSON document on stdout

Every payment of the shop with its operations and every provider id it ever held, plus the counts the settle
phase waits on (operations in doubt, inbound webhooks not yet applied, Idempotency-Keys in progress).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import defaultdict
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kessai.config.settings")
    import django

    django.setup()


def summary(shop_id: str) -> dict[str, Any]:
    """What the settle phase waits on: nothing in doubt, nothing received and not yet applied."""
    from django.db.models import Count, Q
    from django.utils import timezone

    from kessai.api.models import IdempotencyKey
    from kessai.payments.models import Operation, Payment
    from kessai.payments.services import STALE_PENDING_AFTER, replacement_shipment_targets
    from kessai.webhooks.models import InboundWebhook

    ops = Operation.objects.filter(payment__shop_id=shop_id, result__in=["unknown", "pending"])
    return {
        "open_operations": ops.count(),
        "open_operations_with_provider_id": ops.exclude(payment__provider_ref="").count(),
        # flagged 要確認 with no provider id, or waiting for a new transaction no notice may name: the janitor has
        # done what it can; staff and the provider's console decide
        "open_operations_for_staff": ops.filter(
            Q(payment__provider_ref="", payment__needs_review=True) | Q(data__awaiting_new_transaction=True)
        ).count(),
        "payments_in_doubt": Payment.objects.filter(shop_id=shop_id, state__in=["unknown", "authorizing"]).count(),
        "inbound_webhooks": dict(
            InboundWebhook.objects.filter(account__shop_id=shop_id)
            .values_list("status")
            .annotate(n=Count("id"))
            .order_by("status")
        ),
        "idempotency_in_progress": IdempotencyKey.objects.filter(shop_id=shop_id, status="in_progress").count(),
        # a re-registered (NP後払い) transaction whose parcel the janitor is still to report again, lease or not
        "shipments_to_report_again": Payment.objects.filter(
            shop_id=shop_id,
            pk__in=replacement_shipment_targets(limit=100_000, now=timezone.now() + STALE_PENDING_AFTER),
        ).count(),
    }


def payments(shop_id: str) -> list[dict[str, Any]]:
    from kessai.payments.models import Operation, Payment, ProviderReference

    refs: dict[str, set[str]] = defaultdict(set)
    for payment_id, ref in ProviderReference.objects.filter(payment__shop_id=shop_id).values_list("payment_id", "ref"):
        refs[payment_id].add(ref)
    ops: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for op in (
        Operation.objects.filter(payment__shop_id=shop_id)
        .order_by("created_at", "id")
        .values("payment_id", "kind", "result", "amount", "provider_ref", "message", "actor", "data")
    ):
        ops[op.pop("payment_id")].append(op)
    out = []
    for p in Payment.objects.filter(shop_id=shop_id).select_related("order").order_by("created_at", "id"):
        out.append(
            {
                "id": p.pk,
                "provider": p.provider,
                "order": p.order.shop_order_no,
                "order_id": p.order_id,
                "shop_transaction_no": p.shop_transaction_no,
                "state": p.state,
                "amount": p.amount,
                "captured": p.captured_amount,
                "refunded": p.refunded_amount,
                "provider_ref": p.provider_ref,
                "refs": sorted({*refs[p.pk], *p.superseded_refs, p.provider_ref} - {""}),
                "needs_review": p.needs_review,
                "review_reason": p.review_reason,
                "ops": ops[p.pk],
            }
        )
    return out


def view(shop_id: str, *, full: bool) -> dict[str, Any]:
    from django.db.models import Count

    from kessai.payments.models import PaymentError
    from kessai.webhooks.models import InboundWebhook

    answer = summary(shop_id)
    if full:
        answer["payments"] = payments(shop_id)
        answer["payment_errors"] = PaymentError.objects.filter(shop_id=shop_id).count()
        answer["inbound_webhooks_by_provider"] = {
            f"{provider}:{status}": n
            for provider, status, n in InboundWebhook.objects.filter(account__shop_id=shop_id)
            .values_list("provider", "status")
            .annotate(n=Count("id"))
            .order_by("provider", "status")
        }
    return answer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hubview")
    parser.add_argument("--shop", required=True)
    parser.add_argument("--summary", action="store_true", help="only the counts the settle phase waits on")
    args = parser.parse_args(argv)
    _setup()
    sys.stdout.write(json.dumps(view(args.shop, full=not args.summary), ensure_ascii=False, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
