"""GET/PUT /fee-rules/{provider}: tiers validated as a whole (no overlaps, no unintended gaps)."""

from __future__ import annotations

import pytest

from kessai.shops.models import FeeRule

pytestmark = pytest.mark.django_db

TIERS = [
    {"min_amount": 1, "max_amount": 10_000, "fee": 330},
    {"min_amount": 10_001, "max_amount": 50_000, "fee": 440},
]


def test_put_then_get(client, shop):
    put = client.put("/fee-rules/fake", {"tiers": TIERS})
    got = client.get("/fee-rules/fake")

    assert put.status == 200
    assert got.body["tiers"] == TIERS
    assert got.body["provider"] == "fake"


def test_no_rule_yet_is_an_empty_list(client, shop):
    response = client.get("/fee-rules/atone")

    assert response.body == {"provider": "atone", "tiers": [], "updated_at": None}


def test_overlapping_tiers_point_at_the_tier_and_save_nothing(client, shop):
    tiers = [TIERS[0], {"min_amount": 9_000, "max_amount": 20_000, "fee": 440}]

    response = client.put("/fee-rules/fake", {"tiers": tiers})

    assert response.status == 422
    assert response.body["errors"][0]["field"] == "tiers[1].min_amount"
    assert not FeeRule.objects.exists()


def test_unknown_provider_is_404(client, shop):
    assert client.get("/fee-rules/nopay").status == 404
    assert client.put("/fee-rules/nopay", {"tiers": TIERS}).status == 404
