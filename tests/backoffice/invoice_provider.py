"""A fake provider that issues enclosed invoices (同梱請求書), to exercise 請求書ダウンロード."""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

from kessai.providers import registry
from kessai.providers.base import Capabilities
from kessai.providers.credentials import CredentialSchema
from tests.fakes.provider import FAKE_SCHEMA, FakeProvider


class InvoiceProvider(FakeProvider):
    code: ClassVar[str] = "fake_invoice"
    capabilities: ClassVar[Capabilities] = replace(FakeProvider.capabilities, enclosed_invoice=True)


SCHEMA = CredentialSchema(
    provider="fake_invoice", name="Fake 同梱後払い", category="deferred", fields=FAKE_SCHEMA.fields
)


def install() -> None:
    registry.register("fake_invoice", "tests.backoffice.invoice_provider:InvoiceProvider", SCHEMA)
