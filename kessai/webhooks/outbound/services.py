"""Use cases for a shop's webhook endpoints: register, rotate the secret, delete, resend a delivery."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kessai.shops.errors import ValidationFailed
from kessai.shops.models import Environment, Shop
from kessai.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from kessai.webhooks.outbound.events import EVENT_TYPES
from kessai.webhooks.outbound.signing import generate_secret

# How long the previous secret keeps signing after a rotation (receivers switch over meanwhile).
ROTATION_OVERLAP = timedelta(hours=24)


def is_private_host(host: str) -> bool:
    """Loopback, private, link-local and reserved addresses (and ``localhost``): never a shop's server
    in a production install (server-side request forgery)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    return not address.is_global


def clean_url(url: str) -> str:
    """http(s) URL. Outside sandbox-enabled installs: https only, and no private or loopback hosts."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise ValidationFailed({"url": _("URLは http:// または https:// で始まる500文字以内のURLで入力してください。")})
    if not settings.KESSAI_ALLOW_SANDBOX:
        if parts.scheme != "https":
            raise ValidationFailed({"url": _("Webhookの送信先は https:// のURLを指定してください。")})
        if is_private_host(parts.hostname):
            raise ValidationFailed({"url": _("ローカルネットワークやループバックのアドレスには送信できません。")})
    return url


def _clean_event_types(event_types: Sequence[str]) -> list[str]:
    unknown = [t for t in event_types if t not in EVENT_TYPES]
    if unknown:
        raise ValidationFailed(
            {"event_types": _("未対応のイベント種別です: %(types)s") % {"types": ", ".join(unknown)}},
            code="unknown_event_type",
        )
    return list(dict.fromkeys(event_types))


def create_endpoint(
    shop: Shop,
    *,
    environment: str,
    url: str,
    event_types: Sequence[str] = (),
    description: str = "",
) -> WebhookEndpoint:
    """Register an endpoint. ``event_types`` empty = every event. The secret (``whsec_…``) is on the
    returned object: show it to the caller now."""
    if environment not in Environment.values:
        raise ValidationFailed({"environment": _("環境は test または production を指定してください。")})
    return WebhookEndpoint.objects.create(
        shop=shop,
        environment=environment,
        url=clean_url(url),
        description=description.strip()[:200],
        event_types=_clean_event_types(event_types),
        secret=generate_secret(),
    )


def rotate_secret(endpoint: WebhookEndpoint, *, now: datetime | None = None) -> WebhookEndpoint:
    """New secret at once; the previous one keeps signing (a second signature) for ``ROTATION_OVERLAP``."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + ROTATION_OVERLAP
        locked.secret = generate_secret()
        locked.save(update_fields=["previous_secret", "previous_secret_expires_at", "secret"])
    return locked


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    """Deleting an endpoint drops its pending deliveries and its log."""
    endpoint.delete()


def valid_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(endpoint.previous_secret)
    return found


def resend(delivery: WebhookDelivery, *, now: datetime | None = None) -> WebhookDelivery:
    """Manual resend: the worker sends it again at once, with a fresh retry schedule."""
    now = now or timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=now, updated_at=now
    )
    delivery.refresh_from_db()
    return delivery
