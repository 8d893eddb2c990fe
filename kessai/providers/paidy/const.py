"""Paidy constants: host, headers, paths, wire vocabulary, limits and every choice the protocol note
(``/work/shared/providers/paidy.md``) leaves open.

Evidence marks follow the note: [C] confirmed by a cited source, [I] inferred or unverified. Every [I]
choice the adapter relies on is a named constant in the section "Decisions" below, with a comment, so
that it can change in one place.
"""

# ruff: noqa: S105 - token paths, statuses and option names, not secrets

from __future__ import annotations

from typing import Final

PROVIDER_CODE: Final = "paidy"
PROVIDER_NAME: Final = "Paidy"

# --------------------------------------------------------------------------- hosts (§2.1) [C S9,S8]

# One host for test and live: test mode means test keys.
API_BASE_URL: Final = "https://api.paidy.com/"
# The Checkout script (``Paidy.configure({...}).launch(payload)``) [C S10].
CHECKOUT_SCRIPT_URL: Final = "https://apps.paidy.com/"

# --------------------------------------------------------------------------- headers (§2.1) [C]

HEADER_AUTHORIZATION: Final = "Authorization"  # Bearer <secret key>
HEADER_VERSION: Final = "Paidy-Version"
HEADER_CONTENT_TYPE: Final = "Content-Type"
HEADER_ACCEPT: Final = "Accept"
API_VERSION: Final = "2018-04-10"
JSON_MEDIA_TYPE: Final = "application/json"

# --------------------------------------------------------------------------- paths (§2.3) [C]

PATH_PAYMENTS: Final = "payments"
PATH_PAYMENT: Final = "payments/{id}"
PATH_CAPTURES: Final = "payments/{id}/captures"
PATH_REFUNDS: Final = "payments/{id}/refunds"
PATH_CLOSE: Final = "payments/{id}/close"
PATH_TOKENS: Final = "tokens"
PATH_TOKEN: Final = "tokens/{id}"
PATH_TOKEN_ACTION: Final = "tokens/{id}/{action}"  # suspend | resume | delete
TOKEN_ACTIONS: Final = ("suspend", "resume", "delete")

# --------------------------------------------------------------------------- wire vocabulary (§2.2–2.4) [C]

CURRENCY: Final = "JPY"

STATUS_AUTHORIZED: Final = "authorized"  # the docs write statuses in capitals; compared case-insensitively
STATUS_CLOSED: Final = "closed"
STATUS_REJECTED: Final = "rejected"

TOKEN_STATUS_ACTIVE: Final = "active"
TOKEN_STATUS_SUSPENDED: Final = "suspended"
TOKEN_STATUS_DELETED: Final = "deleted"

SUSPEND_REASONS: Final[frozenset[str]] = frozenset(
    {"consumer.requested", "merchant.requested", "fraud.detected", "general"}
)
DELETE_REASONS: Final[frozenset[str]] = SUSPEND_REASONS | {"subscription.expired"}
DEFAULT_WALLET_ID: Final = "default"

ERROR_MALFORMED: Final = "request_content.malformed"  # e.g. a payload without ``order`` [C S10b]
ERROR_AUTHENTICATION: Final = "authentication.failed"  # [C S8,S10b]

# Webhook statuses (§2.4) [C].
PAYMENT_EVENT_TYPE: Final = "payment"
PAYMENT_EVENT_STATUSES: Final[frozenset[str]] = frozenset(
    {"authorize_success", "capture_success", "refund_success", "update_success", "close_success"}
)
TOKEN_EVENT_STATUSES: Final[frozenset[str]] = frozenset(
    {"activate_success", "suspend_success", "resume_success", "delete_success"}
)
# Token events after which the token can be charged: the hub stores the token only for these.
TOKEN_USABLE_EVENTS: Final[frozenset[str]] = frozenset({"activate_success", "resume_success"})
# Paidy's dashboard "send a test notification" uses this payment id [C S10]: no such payment exists.
TEST_NOTIFICATION_PAYMENT_ID: Final = "pay_0000000000000001"

# Test buyers (§2.5) [C S9] — documented here for tests and docs; the adapter never special-cases them.
TEST_EMAIL_SUCCESS: Final = "successful.payment@paidy.com"
TEST_EMAIL_REJECTED: Final = "rejected.payment@paidy.com"
TEST_PHONE: Final = "08000000001"
TEST_OTP: Final = "8888"

# --------------------------------------------------------------------------- limits

MIN_AMOUNT: Final = 1
# [I] No public maximum: Paidy's limit is per buyer. The capability keeps the hub's usual 7-digit ceiling.
MAX_AMOUNT: Final = 9_999_999
MAX_METADATA_KEYS: Final = 20  # [C S8]
ZIP_PATTERN: Final = r"[0-9]{3}-[0-9]{4}"  # shipping_address.zip "NNN-NNNN" [C S8]

# --------------------------------------------------------------------------- timeouts

# Connect timeout cap (seconds). The read/write timeout is ``ProviderSettings.timeout``.
CONNECT_TIMEOUT_CAP: Final = 5.0

# --------------------------------------------------------------------------- Decisions
# Choices the note leaves open ([I] or "unconfirmed"). Each is the adapter's reading, in one place.

# [I] The sandbox serves its Checkout script beside its API root: ``https://apps.paidy.com/`` becomes
# ``<sandbox base URL>apps/`` (Kessai's emulator, docs/sandbox-paidy.md).
SANDBOX_CHECKOUT_SCRIPT_PATH: Final = "apps/"

# [I] Test keys are ``pk_test_…`` / ``sk_test_…`` (live keys ``pk_live_…`` are [C S5b]). Used only by
# 接続テスト to warn about a test key on a production account (and the reverse).
TEST_KEY_MARKER: Final = "_test_"
LIVE_KEY_MARKER: Final = "_live_"

# [I] 接続テスト: GET of a payment id that cannot exist. 404 proves the secret key was accepted, 401 that
# it was not. (Not the test-notification id, which Paidy itself uses.)
CONNECTION_TEST_PAYMENT_ID: Final = "pay_0000000000000000"

# [I] ``store_name`` is part of the payload [C] but Kessai's account has no store name: the account option
# ``store_name`` sets it, else this default.
OPTION_STORE_NAME: Final = "store_name"
DEFAULT_STORE_NAME: Final = "オンラインストア"

# [I] Account option: the hosted checkout asks Paidy for a recurring token (継続課金) instead of a
# payment. The JS config keys ``token{wallet_id, type, description}`` are themselves [I] (note §2.3).
OPTION_TOKEN_CHECKOUT: Final = "token_checkout"
TOKEN_CHECKOUT_TYPE: Final = "recurring"
OPTION_TOKEN_DESCRIPTION: Final = "token_description"
DEFAULT_TOKEN_DESCRIPTION: Final = "定期購入"

# [I] Account option: source IPs allowed to send webhooks (a list or comma-separated string). The note
# [C S10] says a plugin publishes 5 AWS Tokyo IPs but does not list them, so no default: when the option
# is empty every source is accepted and the hub's re-fetch (GET /payments/{id}) is the only check.
OPTION_WEBHOOK_ALLOWED_IPS: Final = "webhook_allowed_ips"
# Headers that carry the client address when the hub runs behind a reverse proxy (first hop wins).
SOURCE_IP_HEADERS: Final = ("x-forwarded-for", "x-real-ip", "remote-addr")

# [I] A payment still AUTHORIZED after ``expires_at`` (the contract's capture window) is reported EXPIRED:
# Paidy refuses captures after it [C S8: "capture before this"].
EXPIRES_AT_MEANS_EXPIRED: Final = True

# [I] ``cancel`` after capture is a full refund of what is left (POST /refunds without ``amount``), since
# ``close`` only exists before capture [C]. The snapshot then reads CANCELLED (refunded == captured).
CANCEL_AFTER_CAPTURE_AS_FULL_REFUND: Final = True

# [I] A capture answered with a 4xx is confirmed with GET: when the payment is CLOSED with a capture, the
# earlier capture (e.g. one whose answer was lost) is the outcome and the call is treated as done.
CONFIRM_CAPTURE_WITH_FETCH: Final = True

# [I] Error bodies carry no field list [C S8]; when ``description`` names a wire field (``order.items[0].
# quantity``, ``buyer.email`` …) the adapter reports it under our field path. See errors.WIRE_FIELDS.
DESCRIPTION_NAMES_FIELDS: Final = True

# [I] ``buyer.name1`` is the kanji name "with a space between names" [C S8]: runs of white space
# (half- or full-width) become one half-width space.
NAME_SPACE: Final = " "

# [I] ``shipping_address`` from one Japanese address string: ``state`` = the prefecture, ``city`` = up to
# the first 市/区/町/村, ``line1`` = the rest (see adapter.split_address).
SPLIT_ADDRESS: Final = True

# [I] ``reason`` on a refund is free text; sent only when the caller gives one.
SEND_EMPTY_REFUND_REASON: Final = False
