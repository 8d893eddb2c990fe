"""GET/PUT /fee-rules/{provider} (手数料設定)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest
from ninja import Router

from kessai.api.auth import shop_of
from kessai.api.responses import documented
from kessai.api.schemas.settings import FeeRuleIn, FeeRuleOut, fee_rule_out
from kessai.payments import selectors
from kessai.providers import registry
from kessai.shops import services as shop_services
from kessai.shops.errors import NotFound

router = Router(tags=["fee-rules"])


@router.get("/fee-rules/{provider}", response=documented({200: FeeRuleOut}), summary="手数料設定 / Fee tiers")
def get_fee_rule(request: HttpRequest, provider: str) -> dict[str, Any]:
    if not registry.is_known(provider):
        raise NotFound(provider)
    return fee_rule_out(provider, selectors.fee_rule(shop_of(request), provider))


@router.put(
    "/fee-rules/{provider}", response=documented({200: FeeRuleOut}), summary="手数料設定を保存 / Replace fee tiers"
)
def put_fee_rule(request: HttpRequest, provider: str, body: FeeRuleIn) -> dict[str, Any]:
    """金額帯 `[min_amount, max_amount]` (両端を含む, 税込) ごとの手数料。
    重なりは不可、隙間は `allow_gaps` のときだけ可。"""
    if not registry.is_known(provider):
        raise NotFound(provider)
    tiers: list[Mapping[str, object]] = [tier.model_dump() for tier in body.tiers]
    return fee_rule_out(
        provider, shop_services.set_fee_rule(shop_of(request), provider, tiers, allow_gaps=body.allow_gaps)
    )
