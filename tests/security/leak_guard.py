"""Invariant 5 over the whole test session: no log line and no database row ever holds a plaintext secret.

A pytest plugin (loaded by ``tests/conftest.py``) that, for every test of the session:

* **captures every log record** that is emitted, formatted exactly as each configured handler it reaches writes
  it (its filters, e.g. the redacting filter, and its formatter) and also by the production JSON formatter
  (``kessai.common.logging.JsonFormatter``), whatever ``KESSAI_LOG_FORMAT`` says;
* **registers every secret the run creates**: full API keys (``shops.services.create_api_key`` is wrapped — and
  every ``ApiKey`` row must carry the hash of a key the guard saw, so a new way of making keys cannot go
  unregistered), the secret fields of every provider account's credentials (decrypted), webhook signing
  secrets, buyer tokens (also those only in the sealed inbound webhook notices), TOTP keys, staff passwords,
  ``DJANGO_SECRET_KEY`` and the key ring;
* at the end of each test that used the database, while its data is still there, **dumps every column of every
  table** and looks for the secrets the design stores only hashed or encrypted (API keys, credentials, buyer
  tokens, key ring, passwords), then scans the log records captured since the previous test for every secret.

A leak fails the session (exit status 1) with a report that names the test, the table/column or the log
line, and the kind of secret — never the secret itself. ``@pytest.mark.plants_secrets`` exempts a test
that writes a secret on purpose (the guard's own tests) from the database scan.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.security.secret_scan import DB, LOGS, Leak, SecretRegistry, find_leaks, rows_as_texts

_SECRET_KEY_WORDS = ("secret", "password", "passwd", "key", "token", "hash", "private", "signature")


def _notice_buyer_tokens(body: str) -> list[str]:
    """The buyer tokens a provider notice carries: atone's ``authentication_token``, a Paidy token notice's id."""
    try:
        data = json.loads(body)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    found = [data.get("authentication_token")]
    if "payment_id" not in data:
        found.append(data.get("token_id"))
    return [token for token in found if isinstance(token, str) and token]


class SessionLogCapture:
    """Keeps the text of every record as the handlers configured by Django's LOGGING write it, plus its JSON form.

    It taps ``logging.Logger.callHandlers`` rather than adding a handler: code that re-applies the logging
    configuration (``django.setup()``, which a WSGI application built in a test calls again) replaces the root
    logger's handlers, and a handler of ours would silently stop seeing anything.
    """

    def __init__(self) -> None:
        from kessai.common.logging import JsonFormatter, RedactingFilter

        self.json = JsonFormatter()
        self.redact = RedactingFilter()
        self.pending: list[str] = []
        self.total = 0
        self._original: Any = None

    def install(self) -> None:
        original = self._original = logging.Logger.callHandlers
        capture = self

        def call_handlers(logger: logging.Logger, record: logging.LogRecord) -> None:
            capture.record(logger, record)
            original(logger, record)

        logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]

    def record(self, logger: logging.Logger, record: logging.LogRecord) -> None:
        try:
            texts: list[str] = []
            current: logging.Logger | None = logger
            while current is not None:
                for handler in current.handlers:
                    if _is_configured_handler(handler) and record.levelno >= handler.level:
                        copy = logging.makeLogRecord(record.__dict__)
                        if handler.filter(copy):
                            texts.append(handler.format(copy))
                current = current.parent if current.propagate else None
            copy = logging.makeLogRecord(record.__dict__)
            self.redact.filter(copy)
            texts.append(self.json.format(copy))
            self.pending.extend(texts)
            self.total += 1
        except Exception:  # noqa: S110 - a capture problem must not break the test that logged
            pass

    def drain(self) -> list[str]:
        drained, self.pending = self.pending, []
        return drained


class LeakGuard:
    def __init__(self) -> None:
        self.registry = SecretRegistry()
        self.capture: SessionLogCapture | None = None
        self.leaks: list[Leak] = []
        self.problems: list[str] = []
        self.unreadable: list[str] = []  # tests whose database could not be read (reported, not failed)
        self.tests_scanned = 0
        self.records = 0
        self.started = False

    # -- setup -------------------------------------------------------------------------------

    def start(self) -> None:
        """At the first test (Django is set up by then)."""
        self.started = True
        self.capture = SessionLogCapture()
        self.capture.install()
        self._wrap_services()
        self._register_settings()

    def _wrap_services(self) -> None:
        from kessai.shops import services as shop_services

        registry = self.registry
        create_api_key = shop_services.create_api_key
        add_staff = shop_services.add_staff

        @functools.wraps(create_api_key)
        def registering_create_api_key(*args: Any, **kwargs: Any) -> Any:
            key, raw = create_api_key(*args, **kwargs)
            registry.add("api_key", raw, db=True)
            registry.api_key_hashes.add(key.key_hash)
            return key, raw

        @functools.wraps(add_staff)
        def registering_add_staff(*args: Any, **kwargs: Any) -> Any:
            registry.add("staff_password", str(kwargs.get("password", "")), db=True)
            return add_staff(*args, **kwargs)

        _replace(create_api_key, registering_create_api_key)
        _replace(add_staff, registering_add_staff)

    def _register_settings(self) -> None:
        from django.conf import settings

        self.registry.add("django_secret_key", settings.SECRET_KEY, db=True)
        for entry in str(settings.KESSAI_SECRET_KEYS).split(","):
            self.registry.add("key_ring", entry.partition(":")[2].strip(), db=True)

    # -- per test ----------------------------------------------------------------------------

    def after_test(self, nodeid: str, *, database: bool) -> None:
        if database:
            from django.db import DatabaseError

            try:
                self._register_from_database(nodeid)
                self.leaks.extend(find_leaks(self.registry, list(_database_texts()), DB, nodeid))
                self.tests_scanned += 1
            except DatabaseError as exc:  # e.g. a test that left its transaction aborted on purpose
                self.unreadable.append(f"{nodeid} ({exc.__class__.__name__})")
        self.scan_logs(nodeid)

    def scan_logs(self, context: str) -> None:
        if self.capture is None:
            return
        lines = self.capture.drain()
        self.records = self.capture.total
        texts = ((f"log record: {line[:160]!r}", line) for line in lines)
        self.leaks.extend(find_leaks(self.registry, texts, LOGS, context))

    def _register_from_database(self, nodeid: str) -> None:
        from django.db import transaction

        with transaction.atomic():
            self._register_rows(nodeid)

    def _register_rows(self, nodeid: str) -> None:
        from django_otp.plugins.otp_totp.models import TOTPDevice

        from kessai.billing.models import Subscription
        from kessai.billing.services import buyer_token
        from kessai.payments.models import BuyerToken, Payment
        from kessai.providers import registry as providers
        from kessai.shops.keyring import KeyRingError
        from kessai.shops.models import ApiKey, ProviderAccount
        from kessai.shops.services import decrypt_credentials
        from kessai.webhooks.models import InboundWebhook, WebhookEndpoint

        add = self.registry.add
        for account in ProviderAccount.objects.all():
            try:
                values = decrypt_credentials(account)
            except KeyRingError:
                continue  # a key ring test encrypted it under another ring
            secret_keys = _secret_fields(providers, account.provider, values)
            for key, value in values.items():
                if key in secret_keys:
                    add(f"credential:{account.provider}.{key}", str(value), db=True)
        # Buyer tokens are stored only encrypted (subscriptions, payments, saved tokens): the database is scanned too.
        for subscription in Subscription.objects.exclude(token_encrypted=""):
            with contextlib.suppress(KeyRingError):  # a key ring test encrypted it under another ring
                add("buyer_token", buyer_token(subscription), db=True)
        for payment in Payment.objects.exclude(buyer_token_encrypted="").only("id", "buyer_token_encrypted"):
            with contextlib.suppress(KeyRingError):
                add("buyer_token", payment.buyer_token, db=True)
        for row in BuyerToken.objects.only("id", "account_id", "customer_key", "token_encrypted"):
            with contextlib.suppress(KeyRingError):
                add("buyer_token", row.token, db=True)
        # …and a token that reached the hub only in a provider notice (an authentication notice for an unknown buyer
        # is stored, not applied): the inbox keeps the bodies sealed, so a plaintext copy anywhere is a leak.
        for inbound in InboundWebhook.objects.only("id", "account_id", "dedup_key", "body_sealed"):
            with contextlib.suppress(KeyRingError, UnicodeDecodeError):
                for token in _notice_buyer_tokens(inbound.body):
                    add("buyer_token", token, db=True)
        for secret, previous in WebhookEndpoint.objects.values_list("secret", "previous_secret"):
            add("webhook_secret", secret, db=False)
            add("webhook_secret", previous, db=False)
        for hex_key in TOTPDevice.objects.values_list("key", flat=True):
            add("totp_key", hex_key, db=False)
            with contextlib.suppress(ValueError):
                add("totp_key", base64.b32encode(bytes.fromhex(hex_key)).decode(), db=False)
        unknown = set(ApiKey.objects.values_list("key_hash", flat=True)) - self.registry.api_key_hashes
        if unknown:
            self.problems.append(
                f"{nodeid}: {len(unknown)} API key(s) were created without shops.services.create_api_key — "
                "the guard cannot know their raw value (register the new way of creating keys here)"
            )

    # -- end ---------------------------------------------------------------------------------

    def report(self) -> list[str]:
        lines = [str(leak) for leak in self.leaks]
        lines.extend(self.problems)
        return lines


def _replace(original: Any, wrapper: Any) -> None:
    """In kessai.shops.services and in every module that already imported the function by name (a management
    command imported before the first test); modules imported later get the wrapper from the services module."""
    for name, module in list(sys.modules.items()):
        if (name == "kessai" or name.startswith(("kessai.", "tests."))) and getattr(
            module, original.__name__, None
        ) is original:
            setattr(module, original.__name__, wrapper)


def _is_configured_handler(handler: logging.Handler) -> bool:
    """The handlers Django's LOGGING installed (not pytest's capturing ones)."""
    return type(handler).__module__.split(".")[0] not in {"_pytest", "tests"}


def _secret_fields(providers: Any, provider: str, values: dict[str, str]) -> set[str]:
    try:
        schema = providers.schema(provider)
    except (KeyError, ValueError):
        return {k for k in values if any(word in k.lower() for word in _SECRET_KEY_WORDS)}
    return {f.key for f in schema.fields if f.secret}


def _database_texts() -> Iterator[tuple[str, str]]:
    """Every column of every row of every table of the default database, inside the test's transaction."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - introspected
            columns = [d[0] for d in cursor.description]
            yield from rows_as_texts(table, columns, cursor.fetchall())


# --------------------------------------------------------------------------- pytest hooks

GUARD = LeakGuard()
_DB_FIXTURES = frozenset({"db", "transactional_db", "django_db_reset_sequences", "django_db_serialized_rollback"})


def _uses_database(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    marked = item.get_closest_marker("django_db") is not None
    return marked or bool(fixtures & _DB_FIXTURES) or "live_server" in fixtures


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "plants_secrets: writes a secret into the database on purpose (guard tests)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if not GUARD.started:
        GUARD.start()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    # Before the fixtures' finalizers: the test's rows are still in the database.
    if GUARD.started:
        database = _uses_database(item) and item.get_closest_marker("plants_secrets") is None
        GUARD.after_test(item.nodeid, database=database)
    yield


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not GUARD.started:
        return
    GUARD.scan_logs("after the last test")
    if GUARD.report():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not GUARD.started:
        return
    report = GUARD.report()
    summary = (
        f"secret scan: {len(GUARD.registry)} secrets registered, {GUARD.records} log records and "
        f"{GUARD.tests_scanned} database states scanned"
    )
    if GUARD.unreadable:
        summary += f" ({len(GUARD.unreadable)} unreadable: {', '.join(GUARD.unreadable[:3])})"
    if not report:
        terminalreporter.write_line(f"{summary}: no leak")
        return
    terminalreporter.section("secret scan: LEAKS", sep="=", red=True, bold=True)
    for line in report[:200]:
        terminalreporter.write_line(line, red=True)
    if len(report) > 200:
        terminalreporter.write_line(f"… and {len(report) - 200} more", red=True)
    terminalreporter.write_line(f"{summary}: {len(report)} problem(s) — the session fails", red=True)
