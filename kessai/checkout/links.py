"""Where a buyer pays: ``<public URL>/pay/<checkout_token>`` (the API's ``next_action.url``)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from kessai.payments.models import Payment


def checkout_path(payment: Payment) -> str:
    return reverse("checkout:pay", args=[payment.checkout_token])


def checkout_url(payment: Payment, *, public_url: str | None = None) -> str:
    return f"{(public_url or settings.KESSAI_PUBLIC_URL).rstrip('/')}{checkout_path(payment)}"
