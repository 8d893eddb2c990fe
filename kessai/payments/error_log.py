"""決済エラーログ housekeeping: ログ削除 (all entries, or chosen ones)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Q

from kessai.payments.models import PaymentError
from kessai.shops.models import Shop


def delete_errors(shop: Shop, *, ids: Sequence[str] | None = None, environment: str | None = None) -> int:
    """Delete the shop's entries (of one environment, when given; ``ids`` limits to those). Returns the count."""
    qs = PaymentError.objects.filter(shop=shop)
    if environment is not None:
        qs = qs.filter(Q(account__environment=environment) | Q(account__isnull=True))
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    deleted, _ = qs.delete()
    return deleted
