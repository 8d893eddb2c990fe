"""Read paths of the go-live pages. Every selector takes the shop (or the user's own memberships) first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kessai.golive.checks import Readiness, pick_account, readiness
from kessai.providers import registry
from kessai.shops.errors import NotFound
from kessai.shops.models import Environment, Membership, ProviderAccount, Shop


def account_in(shop: Shop, account_id: str) -> ProviderAccount:
    """One of the shop's provider accounts; another shop's id is simply not found."""
    account = ProviderAccount.objects.select_related("shop").filter(shop=shop, pk=account_id).first()
    if account is None:
        raise NotFound(account_id)
    return account


@dataclass(frozen=True)
class ProviderOverview:
    provider: str
    name: str
    account: ProviderAccount  # the account the checklist is opened with (test if the shop has one)
    report: Readiness

    @property
    def status(self) -> str:
        """complete (切替済み・確認済み) | live (切替済み) | ready (切替可能) | blocked."""
        if self.report.live:
            return "complete" if self.report.complete else "live"
        return "ready" if self.report.ready else "blocked"

    @property
    def open_titles(self) -> list[str]:
        return [item.title for item in self.report.items if item.status not in ("ok", "na")]

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": self.account.pk,
            "status": self.status,
            "ready": self.report.ready,
            "live": self.report.live,
            "open": [item.as_dict() for item in self.report.items if item.status not in ("ok", "na")],
        }


def overview(shop: Shop) -> list[ProviderOverview]:
    """One checklist per provider the shop has an account of."""
    providers = sorted(set(ProviderAccount.objects.filter(shop=shop).values_list("provider", flat=True)))
    found = []
    for provider in providers:
        account = pick_account(shop, provider, Environment.TEST) or pick_account(shop, provider, Environment.PRODUCTION)
        if account is None:
            continue
        account.shop = shop
        found.append(ProviderOverview(provider, registry.info(provider).name, account, readiness(account)))
    return found


@dataclass(frozen=True)
class ShopOverview:
    membership: Membership
    providers: list[ProviderOverview]

    @property
    def shop(self) -> Shop:
        return self.membership.shop

    @property
    def blocked(self) -> bool:
        return any(p.status == "blocked" for p in self.providers)


def agency_overview(user_id: int) -> list[ShopOverview]:
    """代理店向け: every shop the user is a member of, and which checklist items block each."""
    memberships = Membership.objects.filter(user_id=user_id).select_related("shop").order_by("shop__name", "pk")
    return [ShopOverview(m, overview(m.shop)) for m in memberships]
