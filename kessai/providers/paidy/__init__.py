"""Paidy (あと払いペイディ) provider adapter. See docs/providers/paidy.md."""

from kessai.providers.paidy.adapter import PaidyProvider
from kessai.providers.paidy.client import PaidyClient

__all__ = ["PaidyClient", "PaidyProvider"]
