"""Every URL pattern of the site, from the URL resolver, and a shop with one of everything so that every
back-office, 本番開始チェック, 継続課金 and checkout page can be requested with real ids.

The security tests (CSRF, forms, headers, inline scripts) iterate over :func:`url_patterns`, so a page or a
form added tomorrow is covered without touching them; a new URL parameter name fails loudly (KeyError) until
:func:`make_world` gives a value for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from django.contrib import admin
from django.test import Client
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from kessai.checkout.links import checkout_path
from kessai.payments.models import Payment
from kessai.payments.services import start_payment
from kessai.shops import services as shop_services
from kessai.shops.models import Membership, PaymentMethod, ProviderAccount, Role, Shop
from kessai.webhooks.models import WebhookDelivery
from kessai.webhooks.outbound import delivery, dispatch
from tests import factories
from tests.api.client import ApiClient
from tests.api.helpers import authorized_payment, create_order, subscription_body
from tests.fakes.provider import FakeLedger

PASSWORD = "correct horse battery staple 7"
# Namespaces whose views are exempt from CSRF by design, and why.
CSRF_EXEMPT_NAMESPACES = {
    "api": "REST API: authenticated by the Authorization header only, which a browser never adds on its own",
    "webhooks": "provider webhooks: authorised by the secret token in their URL, posted by the provider's servers",
}


@dataclass(frozen=True)
class Route:
    name: str  # "backoffice:orders", or the route itself for unnamed patterns
    namespace: str
    route: str  # the pattern, for messages
    callback: Callable[..., Any]
    params: tuple[str, ...]

    def url(self, kwargs: dict[str, str]) -> str:
        values = {p: kwargs[p] for p in self.params}
        if ":" in self.name:
            try:
                return reverse(self.name, kwargs=values)
            except NoReverseMatch:
                pass
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], self.route)
        return re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], path).replace("^", "").replace("$", "")


def url_patterns() -> list[Route]:
    routes: list[Route] = []

    def walk(patterns: list[Any], prefix: str, namespace: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern):
                params = tuple(pattern.pattern.regex.groupindex)
                name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or route)
                routes.append(Route(name, namespace, route, pattern.callback, params))

    walk(get_resolver().url_patterns, "", "")
    return routes


def admin_app_label() -> str:
    return next(iter(admin.site._registry))._meta.app_label if admin.site._registry else "auth"


# --------------------------------------------------------------------------- a shop with one of everything


@dataclass
class World:
    shop: Shop
    owner: Membership
    method: PaymentMethod
    atone: ProviderAccount
    kwargs: dict[str, str]

    def owner_client(self, **client_kwargs: Any) -> Client:
        client = Client(**client_kwargs)
        client.force_login(self.owner.user)
        return client


def make_world(fake_ledger: FakeLedger) -> World:
    shop = factories.shop("セキュリティ検査ショップ")
    shop.site_url = "https://shop.example.jp/"
    shop.save(update_fields=["site_url"])
    owner = shop_services.add_staff(shop, username="sec-owner", password=PASSWORD, role=Role.OWNER)
    method = factories.fake_method(shop)
    atone = shop_services.create_provider_account(
        shop,
        provider="atone",
        environment="test",
        credentials={"public_key": "pk_test_security_scan", "secret_key": "sk_atone_security_scan_0001"},
        base_url="http://127.0.0.1:9/v1/",
    )
    atone_method = shop_services.create_payment_method(
        shop, provider_account=atone, code="atone", name="atone 翌月払い", banner_url="https://atone.be/b.png"
    )
    client = ApiClient(shop_services.create_api_key(shop, environment="test")[1])
    endpoint = client.post("/webhook-endpoints", {"url": "https://shop.example.jp/hook"}).body
    payment = authorized_payment(client)
    declined = create_order(client)
    fake_ledger.script.append("decline")
    client.post(f"/orders/{declined['id']}/payments", {"payment_method": "fake"})
    job = client.post("/bulk-jobs", {"action": "refresh", "payment_ids": [payment["id"]]}).body
    subscription = client.post("/subscriptions", subscription_body()).body
    dispatch.fan_out()
    delivery.claim_due(timezone.now(), 100)
    waiting = start_payment(factories.order(shop), method_ref=atone_method.id, actor="test").payment
    error_id = client.get("/payment-errors").body["data"][0]["id"]
    kwargs = {
        "order_id": payment["order"],
        "payment_id": payment["id"],
        "job_id": job["id"],
        "error_id": error_id,
        "provider": "atone",
        "method_id": method.id,
        "account_id": atone.id,
        "name": "run_checks",
        "subscription_id": subscription["id"],
        "cycle_id": "cyc_unknown",
        "token": str(waiting.checkout_token),
        "kind": "payment",
        "endpoint_id": endpoint["id"],
        "delivery_id": f"dlv_{WebhookDelivery.objects.values_list('pk', flat=True).first()}",
        # Django's admin: any object id, an app of its own, anything for its catch-all.
        "object_id": "1",
        "id": "1",
        "pk": "1",
        "app_label": admin_app_label(),
        "url": "x",
        "rest": "x",
        "content_type_id": "1",
        "path": "x",
    }
    return World(shop, owner, method, atone, kwargs)


def two_factor_client(world: World) -> Client:
    """Signed in with the password only, by a user who has TOTP: the page asking for the code."""
    user = shop_services.add_staff(world.shop, username="sec-2fa", password=PASSWORD, role=Role.VIEWER).user
    TOTPDevice.objects.create(user=user, name="default", confirmed=True)
    client = Client()
    client.force_login(user)
    return client


def checkout_path_of(world: World) -> str:
    return checkout_path(Payment.objects.get(checkout_token=world.kwargs["token"]))


# --------------------------------------------------------------------------- HTML


@dataclass
class Form:
    method: str
    action: str
    fields: list[str]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.inline_scripts: list[str] = []
        self.style_attributes: list[str] = []
        self.handler_attributes: list[str] = []
        self.script_sources: list[str] = []
        self._in_script = False
        self._script_type = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for key in values:
            if key.startswith("on"):
                self.handler_attributes.append(f"<{tag} {key}>")
        if "style" in values:
            self.style_attributes.append(f"<{tag} style={values['style']!r}>")
        if tag == "form":
            self.forms.append(Form(values.get("method", "get").lower(), values.get("action", ""), []))
        elif tag in {"input", "button", "select", "textarea"} and self.forms and values.get("name"):
            self.forms[-1].fields.append(values["name"])
        elif tag == "script":
            self._in_script = "src" not in values
            self._script_type = values.get("type", "")
            if "src" in values:
                self.script_sources.append(values["src"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip() and self._script_type != "application/json":
            self.inline_scripts.append(data.strip()[:80])


def parse(html: str) -> _FormParser:
    parser = _FormParser()
    parser.feed(html)
    return parser


def all_pages(world: World) -> Iterator[tuple[Route, str, Any]]:
    """(route, url, response) for every GET of every back-office, golive, billing and checkout pattern."""
    owner = world.owner_client()
    anonymous = Client()
    second_factor = two_factor_client(world)
    for route in url_patterns():
        if route.namespace not in {"backoffice", "golive", "billing", "checkout"}:
            continue
        url = route.url(world.kwargs)
        if route.name == "backoffice:login":
            client = anonymous
        elif route.name == "backoffice:login_otp":
            client = second_factor
        else:
            client = owner
        yield route, url, client.get(url)
