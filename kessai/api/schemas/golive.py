"""Shapes of the go-live endpoints: payment-method display and account readiness."""

from __future__ import annotations

from ninja import Schema


class BannerOut(Schema):
    image_url: str
    link_url: str


class FeeTierOut(Schema):
    min_amount: int
    max_amount: int
    fee: int


class FeeOut(Schema):
    label: str
    text: str
    tax_included: bool
    tiers: list[FeeTierOut]
    for_amount: int | None
    amount: int | None
    available: bool


class OfficialCopyOut(Schema):
    matches: bool
    missing: list[str]
    source: str


class PaymentMethodDisplayOut(Schema):
    payment_method: str
    code: str
    provider: str
    name: str
    banner: BannerOut
    description_html: str
    instructions_html: str
    notes_html: str
    fee: FeeOut | None
    official: OfficialCopyOut | None


class ReadinessItemOut(Schema):
    key: str
    title: str
    status: str
    detail: str
    how_to_fix: str
    stage: str


class ReadinessOut(Schema):
    account: str
    shop: str
    provider: str
    environment: str
    test_account: str | None
    production_account: str | None
    ready: bool
    live: bool
    complete: bool
    items: list[ReadinessItemOut]
