"""CSRF on every form: enumerated from the URL resolver, so a view or a form added later is covered too.

* Every URL pattern of the site outside the two exempt namespaces (the token-authenticated REST API and the
  provider webhooks) refuses a POST without a CSRF token — through the whole middleware stack, with a
  signed-in owner's session — and nothing in the database changes. The refusal is the CSRF middleware's
  (a marker failure view), and the same view lets a request with a valid token through the CSRF check.
* Every back-office / 本番開始チェック / 継続課金 / checkout page renders, and each of its
  ``<form method="post">`` carries ``csrfmiddlewaretoken``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.test import Client, RequestFactory

from tests.security.pages import CSRF_EXEMPT_NAMESPACES, Route, World, all_pages, make_world, parse, url_patterns

pytestmark = pytest.mark.django_db

MARKER = "X-Test-CSRF-Failure"
# GETs that answer something other than an HTML page, and why. Any other pattern must render a page.
NOT_PAGES = {
    "backoffice:logout": 405,  # POST only
    "backoffice:switch_shop": 405,
    "backoffice:set_language": 302,  # Django's set_language: a GET just goes back
    "backoffice:order_columns": 302,  # POST-only actions send a GET back to their page
    "backoffice:order_export": 200,  # CSV
    "backoffice:bulk": 302,
    "backoffice:order_status": 302,
    "backoffice:job_progress": 302,  # an htmx fragment; a plain GET goes to the job's page
    "backoffice:payment_capture": 302,
    "backoffice:payment_cancel": 302,
    "backoffice:payment_change_amount": 302,
    "backoffice:payment_retry": 302,
    "backoffice:payment_refresh": 302,
    "backoffice:payment_close_unregistered": 302,
    "backoffice:error_download": 200,  # CSV
    "backoffice:error_delete": 302,
    "golive:agency_open": 405,
    "golive:switch": 405,
    "golive:action": 405,
    "billing:retry": 404,  # POST only, for a failed cycle (this shop has none)
    "billing:charge": 302,
    "checkout:authenticated": 405,
    "checkout:result": 405,
    "checkout:method": 405,
}


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    response = HttpResponse("CSRF", status=403)
    response[MARKER] = reason or "refused"
    return response


@pytest.fixture
def world(fake_ledger: Any, settings: Any) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CSRF_FAILURE_VIEW = f"{__name__}.csrf_failure"
    return make_world(fake_ledger)


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._base_manager.count() for model in apps.get_models()}


def exempt(route: Route) -> bool:
    return bool(getattr(route.callback, "csrf_exempt", False))


def test_only_the_api_and_provider_webhooks_are_csrf_exempt():
    namespaces = {route.namespace for route in url_patterns() if exempt(route)}

    assert namespaces == set(CSRF_EXEMPT_NAMESPACES)


def test_a_back_office_session_does_not_authenticate_the_api(world):
    """Why the API may be exempt: cookies alone get nothing, so a forged cross-site POST gets nothing."""
    client = world.owner_client(enforce_csrf_checks=True)

    response = client.post("/api/v1/orders", data="{}", content_type="application/json")

    assert response.status_code == 401


def test_every_post_without_a_csrf_token_is_refused(world):
    client = world.owner_client(enforce_csrf_checks=True)
    client.get("/")  # the session and the CSRF cookie exist; only the token in the request is missing
    routes = [r for r in url_patterns() if not exempt(r)]
    before = row_counts()
    refused: list[str] = []
    accepted: list[str] = []

    for route in routes:
        url = route.url(world.kwargs)
        response = client.post(url, {"payment_method": world.method.id, "action": "cancel", "shop": world.shop.pk})
        (refused if response.status_code == 403 and response.has_header(MARKER) else accepted).append(
            f"{route.name} {url} → {response.status_code}"
        )

    assert accepted == []
    assert len(refused) == len(routes) > 60
    assert {r.namespace for r in routes} >= {"backoffice", "golive", "billing", "checkout", "admin"}
    assert row_counts() == before


def test_the_same_views_pass_the_csrf_check_with_a_token(world):
    """The refusal above is about the token: with cookie and header matching, the CSRF check lets each view run."""
    middleware = CsrfViewMiddleware(lambda request: HttpResponse())
    factory = RequestFactory()
    secret = "k" * 32
    blocked: list[str] = []

    for route in url_patterns():
        if exempt(route):
            continue
        with_token = factory.post(route.url(world.kwargs), HTTP_X_CSRFTOKEN=secret)
        with_token.COOKIES["csrftoken"] = secret
        without = factory.post(route.url(world.kwargs))
        without.COOKIES["csrftoken"] = secret

        if middleware.process_view(with_token, route.callback, (), {}) is not None:
            blocked.append(f"{route.name} refused with a token")
        if middleware.process_view(without, route.callback, (), {}) is None:
            blocked.append(f"{route.name} accepted without a token")

    assert blocked == []


def test_every_post_form_on_every_page_carries_the_csrf_token(world):
    pages = forms = 0
    missing: list[str] = []
    unexpected: list[str] = []

    for route, url, response in all_pages(world):
        expected = NOT_PAGES.get(route.name, 200)
        is_html = response.get("Content-Type", "").startswith("text/html")
        if response.status_code != expected or (route.name not in NOT_PAGES and not is_html):
            unexpected.append(f"{route.name} {url} → {response.status_code} {response.get('Content-Type')}")
            continue
        if not is_html or response.status_code != 200:
            continue
        pages += 1
        for form in parse(response.content.decode()).forms:
            if form.method == "post":
                forms += 1
                if "csrfmiddlewaretoken" not in form.fields:
                    missing.append(f"{route.name} {url}: <form action={form.action!r}>")

    assert unexpected == [], "\n".join(unexpected)
    assert missing == []
    assert pages >= 25
    assert forms >= 40


def test_a_form_without_the_token_is_noticed():
    """The parser the check relies on tells a form with the token from one without."""
    html = (
        '<form method="post" action="/a"><input type="hidden" name="csrfmiddlewaretoken" value="x"></form>'
        '<form method="POST" action="/b"><button name="go">go</button></form><form action="/search"></form>'
    )

    forms = parse(html).forms

    assert [(f.method, f.action, "csrfmiddlewaretoken" in f.fields) for f in forms] == [
        ("post", "/a", True),
        ("post", "/b", False),
        ("get", "/search", False),
    ]


def test_the_checkout_callbacks_need_the_pages_token(world):
    """The widget's callbacks are JSON posts: the page's token in X-CSRFToken, nothing without it."""
    strict = Client(enforce_csrf_checks=True)
    page = world.kwargs["token"]

    response = strict.post(f"/pay/{page}/result", data='{"provider_ref": "tr_x"}', content_type="application/json")

    assert response.status_code == 403
