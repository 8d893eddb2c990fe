"""Talking to a provider emulator's control endpoint (``/_sandbox/``, docs/sandbox-atone.md) over HTTP.

Only for a *test* account whose base URL is honoured (invariant 6: sandbox-enabled installs) and whose
host answers the control endpoint as an emulator of that provider: a real provider's test host is never
sent control requests. The emulator is reached over HTTP like any other service — ``kessai.sandbox`` is
not imported (it may not even run in this process).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from django.utils.translation import gettext as _

from kessai.payments.gateway import effective_base_url
from kessai.shops.models import Environment, ProviderAccount

TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# What each emulator's ``GET /_sandbox`` says it is, and where its API lives under the root.
SERVICES = {"atone": ("atone sandbox", "v1/")}


class SandboxError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Sandbox:
    provider: str
    root: str  # "http://127.0.0.1:8101/"

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = httpx.request(method, f"{self.root}_sandbox{path}", json=body, timeout=TIMEOUT)
        except httpx.HTTPError as exc:
            raise SandboxError(
                _("サンドボックスに接続できませんでした(%(error)s)。") % {"error": type(exc).__name__}
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code != 200 or not isinstance(data, dict):
            detail = data.get("error", "") if isinstance(data, dict) else ""
            raise SandboxError(
                _("サンドボックスが要求を受け付けませんでした(HTTP %(status)s %(detail)s)。")
                % {"status": response.status_code, "detail": detail}
            )
        return data

    def overview(self) -> dict[str, Any]:
        return self._call("GET", "")

    def set_webhooks(self, public_key: str, *, payment_url: str, authentication_url: str) -> None:
        """What staff do in the provider's merchant console: register the hub's webhook URLs."""
        self._call(
            "POST",
            "/merchants",
            {
                "public_key": public_key,
                "payment_webhook_url": payment_url,
                "authentication_webhook_url": authentication_url,
            },
        )

    def authenticate(self, public_key: str, phone_number: str) -> str:
        """A buyer login without a browser (the emulator sends its 認証Webhook); returns the buyer token."""
        data = self._call("POST", "/authenticate", {"phone_number": phone_number, "public_key": public_key})
        token = data.get("authentication_token")
        if not isinstance(token, str) or not token:
            raise SandboxError(_("サンドボックスが認証トークンを返しませんでした。"))
        return token

    def deliveries(self) -> list[dict[str, Any]]:
        """The emulator's webhook delivery log (newest last)."""
        data = self._call("GET", "/webhooks")
        found = data.get("deliveries")
        return [d for d in found if isinstance(d, dict)] if isinstance(found, list) else []


def sandbox_for(account: ProviderAccount) -> Sandbox | None:
    """The emulator behind a test account, or None (production, no honoured override, unsupported
    provider, or the host is not an emulator)."""
    if account.environment != Environment.TEST or account.provider not in SERVICES:
        return None
    base = effective_base_url(account)
    if not base:
        return None
    service, api_path = SERVICES[account.provider]
    if not base.endswith(api_path):
        return None
    sandbox = Sandbox(provider=account.provider, root=base.removesuffix(api_path))
    try:
        overview = sandbox.overview()
    except SandboxError:
        return None
    named = overview.get("service")
    return sandbox if isinstance(named, str) and named.startswith(service) else None
