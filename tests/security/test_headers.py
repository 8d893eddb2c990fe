"""Security headers on every kind of response: back-office pages, 本番開始チェック, 継続課金, the login pages, the
REST API and its docs page, the hosted checkout (with and without the provider's widget), provider webhooks,
health, errors, static files and Django's admin. And no page needs an inline script or a ``style=""``
attribute, which is what lets the Content-Security-Policy forbid them.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from kessai.common.security import default_directives, render_policy
from tests.security.pages import World, all_pages, checkout_path_of, make_world, parse

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(fake_ledger: Any, settings: Any) -> World:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return make_world(fake_ledger)


def directives(response: Any) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return dict([*part.strip().split(" ", 1), ""][:2] for part in policy.split(";") if part.strip())


def assert_hardened(response: Any, where: str) -> None:
    csp = directives(response)
    assert csp["frame-ancestors"] == "'none'", where
    assert csp["object-src"] == "'none'", where
    assert csp["base-uri"] == "'none'", where
    assert csp["form-action"] == "'self'", where
    assert "'unsafe-inline'" not in csp["script-src"], where
    assert "'unsafe-eval'" not in response["Content-Security-Policy"], where
    assert "*" not in csp["script-src"].split(), where
    assert response["X-Frame-Options"] == "DENY", where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", where
    assert "camera=()" in response["Permissions-Policy"], where
    assert not response.has_header("Strict-Transport-Security"), f"{where}: HSTS over plain HTTP"


def test_every_back_office_golive_billing_and_checkout_response_is_hardened(world):
    seen = 0
    for route, url, response in all_pages(world):
        assert_hardened(response, f"{route.name} {url}")
        seen += 1

    assert seen >= 45


def test_pages_use_the_default_policy_which_forbids_inline_code(world):
    response = world.owner_client().get("/")

    assert response["Content-Security-Policy"] == render_policy(default_directives(https=False))
    csp = directives(response)
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-src"] == "'none'"
    assert csp["connect-src"] == "'self'"


@pytest.mark.parametrize(
    "path",
    ["/api/v1/orders", "/api/v1/openapi.json", "/api/v1/docs", "/api/v1/nowhere", "/healthz", "/no-such-page/"],
)
def test_api_docs_health_and_errors_are_hardened(world, path):
    response = Client().get(path, headers={"Authorization": "Bearer sk_test_wrong"})

    assert_hardened(response, path)


def test_static_files_webhooks_and_the_admin_are_hardened(world):
    client = Client()
    responses = {
        "static": client.get("/static/backoffice/backoffice.js"),
        "webhook": client.post("/hooks/atone/acct_x/payment?token=wrong", data="{}", content_type="application/json"),
        "admin": client.get("/django-admin/login/"),
    }

    assert responses["static"].status_code == 200
    for where, response in responses.items():
        assert_hardened(response, where)


def test_api_docs_run_from_our_own_static_files(world):
    html = Client().get("/api/v1/docs").content.decode()
    page = parse(html)

    assert page.inline_scripts == []
    assert page.script_sources
    assert all(src.startswith("/static/") for src in page.script_sources), page.script_sources
    assert "cdn.jsdelivr.net" not in html


def test_checkout_policy_adds_only_the_provider_widget_host(world):
    response = Client().get(checkout_path_of(world))
    csp = directives(response)

    assert response.status_code == 200
    assert csp["script-src"] == "'self' http://127.0.0.1:9"
    assert csp["frame-src"] == "http://127.0.0.1:9"
    assert "https://atone.be" in csp["img-src"]
    assert_hardened(response, "checkout")


def test_no_page_needs_inline_script_style_attributes_or_event_handlers(world):
    offenders: list[str] = []
    pages = 0
    for route, url, response in all_pages(world):
        if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
            continue
        pages += 1
        page = parse(response.content.decode())
        for found in page.inline_scripts + page.style_attributes + page.handler_attributes:
            offenders.append(f"{route.name} {url}: {found}")

    assert offenders == []
    assert pages >= 25


def test_the_html_check_sees_inline_code():
    page = parse('<p style="color:red" onclick="x()">a</p><script>alert(1)</script><script src="/a.js"></script>')

    assert page.inline_scripts == ["alert(1)"]
    assert page.style_attributes == ["<p style='color:red'>"]
    assert page.handler_attributes == ["<p onclick>"]
    assert page.script_sources == ["/a.js"]


def test_hsts_on_https_requests_when_kessai_https_is_on(world, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client = Client()

    direct = client.get("/login/", secure=True)
    proxied = client.get("/login/", headers={"X-Forwarded-Proto": "https"})
    plain = client.get("/login/")

    assert direct["Strict-Transport-Security"] == "max-age=31536000"
    assert proxied["Strict-Transport-Security"] == "max-age=31536000"
    assert not plain.has_header("Strict-Transport-Security")


def test_over_https_the_default_policy_allows_https_images_only(settings):
    https = dict(part.split(" ", 1) for part in render_policy(default_directives(https=True)).split("; "))
    http = dict(part.split(" ", 1) for part in render_policy(default_directives(https=False)).split("; "))

    assert https["img-src"] == "'self' data: https:"
    assert http["img-src"] == "'self' data: https: http:"
