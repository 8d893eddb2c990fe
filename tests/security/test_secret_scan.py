"""The secret scanner and the session-wide leak guard can fail: each is shown a planted secret and finds it.

The guard itself (tests/security/leak_guard.py) runs around every test of the session; these tests prove that
what it does is not vacuous — it registers what factories and services create, its log capture sees what
the configured handlers write, its database dump reads every table, and the scanner spots a secret anywhere
in a line or a cell, but not a redacted or partial one.
"""

from __future__ import annotations

import logging
import secrets

import pytest

from kessai.payments.models import PaymentMethod
from kessai.shops import services as shop_services
from kessai.shops.models import ApiKey
from tests import factories
from tests.api.client import ApiClient
from tests.security import leak_guard
from tests.security.leak_guard import GUARD
from tests.security.secret_scan import DB, LOGS, SecretRegistry, find_leaks

log = logging.getLogger("kessai.security.probe")


def test_the_scanner_finds_a_secret_anywhere_in_a_line_but_not_a_part_of_it():
    registry = SecretRegistry()
    key = "sk_test_" + secrets.token_urlsafe(32)
    password = "correct horse battery staple 7"
    registry.add("api_key", key, db=True)
    registry.add("staff_password", password, db=False)
    registry.add("too_short", "abc", db=True)

    texts = [
        ("json", f'{{"message": "key={key}&x=1"}}'),
        ("url", f"/hooks/x?token=a{key}b"),
        ("redacted", f"{key[:16]}…[redacted]"),
        ("partial", key[:-1]),
        ("password", f"login with {password}!"),
        ("short", "abc abc"),
    ]

    logs = {(leak.where, leak.secret.kind) for leak in find_leaks(registry, texts, LOGS)}
    db = {(leak.where, leak.secret.kind) for leak in find_leaks(registry, texts, DB)}
    assert logs == {("json", "api_key"), ("url", "api_key"), ("password", "staff_password")}
    assert db == {("json", "api_key"), ("url", "api_key")}  # the password is only looked for in logs
    assert len(registry) == 2


def test_a_report_never_prints_the_secret():
    registry = SecretRegistry()
    value = "whsec_" + secrets.token_urlsafe(24)
    registry.add("webhook_secret", value, db=False)

    (leak,) = find_leaks(registry, [("log: web.log:3", f"secret {value}")], LOGS, "test_x")

    assert value not in str(leak)
    assert str(leak) == f"webhook_secret {value[:4]!r}… ({len(value)} chars) found in log: web.log:3 [test_x]"


@pytest.mark.django_db
def test_the_guard_registers_what_factories_and_services_create(fake_ledger):
    shop = factories.shop()
    credential = "fake-secret-" + secrets.token_hex(8)
    factories.fake_method(shop, factories.fake_account(shop, secret=credential))
    _, api_key = shop_services.create_api_key(shop, environment="test")
    endpoint = ApiClient(api_key).post("/webhook-endpoints", {"url": "https://shop.example.jp/h"}).body

    GUARD._register_from_database("probe")

    kinds = {s.value: (s.kind, s.scopes) for s in GUARD.registry.secrets()}
    assert kinds[credential] == ("credential:fake.api_secret", frozenset({LOGS, DB}))
    assert kinds[api_key] == ("api_key", frozenset({LOGS, DB}))
    assert kinds[endpoint["secret"]] == ("webhook_secret", frozenset({LOGS}))
    assert "M-0001" not in GUARD.registry  # the merchant id is not a secret field


@pytest.mark.django_db
@pytest.mark.plants_secrets
def test_the_database_dump_finds_a_credential_written_in_plaintext(fake_ledger):
    shop = factories.shop()
    credential = "fake-secret-" + secrets.token_hex(8)
    method = factories.fake_method(shop, factories.fake_account(shop, secret=credential))
    GUARD._register_from_database("probe")
    assert find_leaks(GUARD.registry, leak_guard._database_texts(), DB) == []

    PaymentMethod.objects.filter(pk=method.pk).update(description=f"<p>key: {credential}</p>")
    leaks = find_leaks(GUARD.registry, leak_guard._database_texts(), DB)

    assert [(leak.where, leak.secret.kind) for leak in leaks] == [
        (f"db: shops_paymentmethod.description (row {method.pk})", "credential:fake.api_secret")
    ]


@pytest.mark.django_db
@pytest.mark.plants_secrets
def test_an_api_key_made_behind_the_guards_back_is_reported():
    shop = factories.shop()
    ApiKey.objects.create(shop=shop, environment="test", key_hash="f" * 64, last4="ffff")
    problems = len(GUARD.problems)

    GUARD._register_from_database("probe")

    assert GUARD.problems[problems:] == [
        "probe: 1 API key(s) were created without shops.services.create_api_key — the guard cannot know their "
        "raw value (register the new way of creating keys here)"
    ]
    del GUARD.problems[problems:]
    ApiKey.objects.filter(key_hash="f" * 64).delete()


@pytest.mark.django_db
def test_the_log_capture_keeps_what_the_handlers_write_and_the_scanner_reads_it():
    assert GUARD.capture is not None
    GUARD.scan_logs("before the probe")
    planted = "planted-" + secrets.token_urlsafe(16)  # registered below, in a registry of this test only
    shop = factories.shop()
    _, api_key = shop_services.create_api_key(shop, environment="test")

    log.warning("credential %s, key %s", planted, api_key)
    lines = list(GUARD.capture.pending)

    assert len(lines) >= 2  # each configured handler's line (the console) and the JSON line
    assert any(line.startswith("{") and '"logger": "kessai.security.probe"' in line for line in lines)
    assert all(planted in line for line in lines)
    assert all(api_key not in line and api_key[:16] + "…[redacted]" in line for line in lines)
    local = SecretRegistry()
    local.add("credential:probe", planted, db=True)
    local.add("api_key", api_key, db=True)
    leaks = find_leaks(local, [(f"record {n}", line) for n, line in enumerate(lines)], LOGS)
    assert sorted((leak.secret.kind, leak.where) for leak in leaks) == [
        ("credential:probe", f"record {n}") for n in range(len(lines))
    ]
