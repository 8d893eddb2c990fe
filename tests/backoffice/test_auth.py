"""Login with lockout (django-axes), TOTP two-factor authentication (django-otp), logout."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from kessai.backoffice import services
from kessai.backoffice.models import AuditEntry
from tests.backoffice.fixtures import PASSWORD, client_for

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_login_and_logout_are_audited(world, no_axes_lockouts):
    client = Client()
    response = client.post(
        reverse("backoffice:login"), {"username": "operator", "password": PASSWORD, "next": "/orders/"}
    )
    assert response["Location"] == "/orders/"
    assert client.get("/orders/").status_code == 200

    client.post(reverse("backoffice:logout"))
    assert client.get("/orders/").status_code == 302
    assert list(AuditEntry.objects.filter(username="operator").values_list("action", flat=True).order_by("id")) == [
        "login",
        "logout",
    ]


def test_five_failures_lock_the_login_with_a_japanese_message(world, no_axes_lockouts):
    client = Client()
    for _ in range(4):
        response = client.post(reverse("backoffice:login"), {"username": "operator", "password": "wrong"})
        assert response.status_code == 200
        assert "ユーザー名またはパスワードが正しくありません。" in response.content.decode()

    locked = client.post(reverse("backoffice:login"), {"username": "operator", "password": "wrong"})
    assert locked.status_code == 429
    assert (
        "ログインに5回失敗したため、アカウントをロックしました。30分後に再度お試しいただくか" in locked.content.decode()
    )

    # Even the right password is refused while locked.
    again = client.post(reverse("backoffice:login"), {"username": "operator", "password": PASSWORD})
    assert again.status_code == 429
    assert client.get("/orders/").status_code == 302
    # Another user from the same address is not locked out.
    other = client.post(reverse("backoffice:login"), {"username": "viewer", "password": PASSWORD})
    assert other.status_code == 302


def test_behind_the_proxy_the_lockout_is_per_client_address_not_for_everyone(world, no_axes_lockouts, settings):
    settings.KESSAI_TRUSTED_PROXIES = "127.0.0.1"
    attacker = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.66")
    for _ in range(5):
        attacker.post(reverse("backoffice:login"), {"username": "operator", "password": "wrong"})
    assert attacker.post(reverse("backoffice:login"), {"username": "operator", "password": PASSWORD}).status_code == 429

    staff = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10")
    response = staff.post(reverse("backoffice:login"), {"username": "operator", "password": PASSWORD})
    assert response.status_code == 302
    assert AuditEntry.objects.filter(username="operator", action="login").get().ip_address == "203.0.113.10"


def test_without_the_setting_the_proxy_address_is_locked_for_everyone(world, no_axes_lockouts, settings):
    # documents why the setting exists: every client behind the proxy shares its address
    settings.KESSAI_TRUSTED_PROXIES = ""
    attacker = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.66")
    for _ in range(5):
        attacker.post(reverse("backoffice:login"), {"username": "operator", "password": "wrong"})
    staff = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10")
    assert staff.post(reverse("backoffice:login"), {"username": "operator", "password": PASSWORD}).status_code == 429


def test_totp_setup_shows_uri_and_secret_and_then_login_needs_a_code(world, no_axes_lockouts):
    client = client_for(world.operator)
    page = client.get(reverse("backoffice:otp_setup")).content.decode()
    device = TOTPDevice.objects.get(user=world.operator.user, confirmed=False)
    assert "otpauth://totp/" in page
    assert services.totp_secret(device) in page

    wrong = client.post(reverse("backoffice:otp_setup"), {"token": "000000" if _code(device) != "000000" else "111111"})
    assert wrong.status_code == 400
    assert "確認コードが正しくありません" in wrong.content.decode()
    device.refresh_from_db()
    assert device.throttling_failure_count == 1  # django-otp throttles guessing
    device.throttle_reset()
    client.post(reverse("backoffice:otp_setup"), {"token": _code(device)})
    device.refresh_from_db()
    assert device.confirmed

    fresh = Client()
    fresh.post(reverse("backoffice:login"), {"username": "operator", "password": PASSWORD})
    response = fresh.get("/orders/")
    assert response["Location"] == "/login/otp/?next=%2Forders%2F"
    device.refresh_from_db()
    device.last_t = -1  # allow the same 30-second code again for the test
    device.save()
    fresh.post("/login/otp/?next=/orders/", {"token": _code(device), "next": "/orders/"})
    assert fresh.get("/orders/").status_code == 200
    assert AuditEntry.objects.filter(action="otp.enabled").exists()
    assert AuditEntry.objects.filter(action="login.otp").exists()


def test_owner_can_require_2fa_for_staff(world, owner_client):
    owner_client.post(reverse("backoffice:security"), {"require_otp": "on"})

    operator = client_for(world.operator)
    response = operator.get("/orders/")
    assert response["Location"] == "/account/2fa/?required=1"
    assert "このショップでは二段階認証が必須です" in operator.get(response["Location"]).content.decode()
    entry = AuditEntry.objects.get(action="security.require_otp")
    assert (entry.before, entry.after) == ({"require_otp": False}, {"require_otp": True})


def test_2fa_cannot_be_disabled_where_the_shop_requires_it(world):
    client = client_for(world.operator)
    client.get(reverse("backoffice:otp_setup"))
    device = TOTPDevice.objects.get(user=world.operator.user)
    client.post(reverse("backoffice:otp_setup"), {"token": _code(device)})
    services.set_require_otp(services.Actor(world.owner.user), world.shop, True)

    response = client.post(reverse("backoffice:otp_setup"), {"action": "disable"})

    assert "二段階認証が必須のため、解除できません" in response.content.decode()
    assert TOTPDevice.objects.filter(user=world.operator.user, confirmed=True).exists()
