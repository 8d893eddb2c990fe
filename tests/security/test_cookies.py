"""Session and CSRF cookies: HttpOnly, SameSite=Lax, Secure once ``KESSAI_HTTPS=1``; a back-office session ends
after a working day; logging in gives a new session id and logging out ends the session on the server.

The HTTPS settings are read from ``kessai/config/settings.py`` in a fresh interpreter with the variables set
(the file is evaluated once per process), then applied here to a real login over HTTPS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from http.cookies import Morsel
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kessai.shops import services as shop_services
from kessai.shops.models import Role
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple 7"
ROOT = Path(__file__).resolve().parents[2]
SETTINGS = [
    "KESSAI_HTTPS",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SESSION_COOKIE_AGE",
    "CSRF_COOKIE_SECURE",
    "CSRF_COOKIE_HTTPONLY",
    "CSRF_COOKIE_SAMESITE",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT",
]


def settings_under(tmp_path: Path, **env: str) -> dict[str, Any]:
    """The security settings as kessai/config/settings.py computes them with ``env``."""
    script = (
        f"import json, kessai.config.settings as s;print(json.dumps({{n: getattr(s, n, None) for n in {SETTINGS!r}}}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("KESSAI_", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**clean, "KESSAI_VAR_DIR": str(tmp_path), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values: dict[str, Any] = json.loads(done.stdout)
    return values


@pytest.fixture
def staff(settings: Any) -> Any:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    shop = factories.shop()
    return shop_services.add_staff(shop, username="cookie-owner", password=PASSWORD, role=Role.OWNER)


def login(client: Client, **extra: Any) -> Any:
    response = client.post(reverse("backoffice:login"), {"username": "cookie-owner", "password": PASSWORD}, **extra)
    assert response.status_code == 302, response
    return response


def flags(morsel: Morsel[str]) -> dict[str, Any]:
    return {
        "httponly": bool(morsel["httponly"]),
        "samesite": morsel["samesite"],
        "secure": bool(morsel["secure"]),
        "max-age": morsel["max-age"],
    }


def test_over_http_cookies_are_httponly_and_samesite_lax_but_not_secure(staff):
    client = Client()
    client.get(reverse("backoffice:login"))  # the form sets the CSRF cookie

    response = login(client)

    assert flags(response.cookies["sessionid"]) == {
        "httponly": True,
        "samesite": "Lax",
        "secure": False,
        "max-age": 8 * 3600,
    }
    csrf = flags(client.cookies["csrftoken"])
    assert (csrf["httponly"], csrf["samesite"], csrf["secure"]) == (True, "Lax", False)


def test_kessai_https_turns_on_secure_cookies_hsts_and_the_proxy_header(tmp_path):
    plain = settings_under(tmp_path)
    https = settings_under(tmp_path, KESSAI_HTTPS="1")

    assert (plain["KESSAI_HTTPS"], plain["SESSION_COOKIE_SECURE"], plain["CSRF_COOKIE_SECURE"]) == (False,) * 3
    assert plain["SECURE_HSTS_SECONDS"] is None
    assert plain["SECURE_PROXY_SSL_HEADER"] is None
    assert https["SESSION_COOKIE_SECURE"] is True
    assert https["CSRF_COOKIE_SECURE"] is True
    assert https["SECURE_HSTS_SECONDS"] == 31536000
    assert https["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert https["SECURE_SSL_REDIRECT"] is False
    for values in (plain, https):
        assert values["SESSION_COOKIE_HTTPONLY"] is True
        assert values["CSRF_COOKIE_HTTPONLY"] is True
        assert values["SESSION_COOKIE_SAMESITE"] == values["CSRF_COOKIE_SAMESITE"] == "Lax"
        assert values["SESSION_COOKIE_AGE"] == 8 * 3600


def test_production_means_https_unless_told_otherwise(tmp_path):
    keys = {"DJANGO_SECRET_KEY": "x" * 50, "KESSAI_SECRET_KEYS": "k1:" + "A" * 43 + "="}

    production = settings_under(tmp_path, KESSAI_PRODUCTION="1", **keys)
    behind_plain_http = settings_under(tmp_path, KESSAI_PRODUCTION="1", KESSAI_HTTPS="0", **keys)
    shorter = settings_under(tmp_path, KESSAI_SESSION_HOURS="1", KESSAI_HSTS_SECONDS="300", KESSAI_HTTPS="1")

    assert production["SESSION_COOKIE_SECURE"] is True
    assert production["SECURE_HSTS_SECONDS"] == 31536000
    assert behind_plain_http["SESSION_COOKIE_SECURE"] is False
    assert (shorter["SESSION_COOKIE_AGE"], shorter["SECURE_HSTS_SECONDS"]) == (3600, 300)


def test_with_the_https_settings_a_login_over_https_gets_secure_cookies(staff, settings, tmp_path):
    for name, value in settings_under(tmp_path, KESSAI_HTTPS="1").items():
        setattr(settings, name, tuple(value) if isinstance(value, list) else value)
    client = Client()
    client.get(reverse("backoffice:login"), secure=True)

    response = login(client, secure=True)

    assert flags(response.cookies["sessionid"])["secure"] is True
    assert flags(client.cookies["csrftoken"])["secure"] is True
    assert response["Strict-Transport-Security"] == "max-age=31536000"


def test_a_session_ends_after_a_working_day(staff):
    client = Client()
    login(client)
    assert client.get("/").status_code == 200

    with time_machine.travel(timezone.now() + timedelta(hours=8, minutes=1)):
        response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_issues_a_new_session_id_and_logout_ends_it_on_the_server(staff):
    client = Client()
    client.get(reverse("backoffice:login"))
    session = client.session
    session["before_login"] = "x"
    session.save()
    before = session.session_key

    login(client)
    after = client.cookies["sessionid"].value
    client.post(reverse("backoffice:logout"))

    assert after != before
    assert not Session.objects.filter(session_key__in=[before, after]).exists()
    assert client.get("/").status_code == 302
