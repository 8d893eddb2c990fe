"""atone constants: hosts, headers, limits and every decision the protocol note leaves open.

Evidence marks follow /work/shared/providers/atone.md: [C] confirmed, [S] single source, [I] inferred.
Every [I] / "unconfirmed" choice the adapter relies on is a named constant in the section
"Decisions" below, with a comment, so that it can change in one place.
"""

from __future__ import annotations

from typing import Final

PROVIDER_CODE: Final = "atone"

# --------------------------------------------------------------------------- hosts (§1) [C]

API_BASE_URLS: Final[dict[str, str]] = {
    "test": "https://ct-api.a-to-ne.jp/v1/",
    "production": "https://api.atone.be/v1/",
}
WIDGET_SCRIPT_URLS: Final[dict[str, str]] = {
    "test": "https://ct-auth.a-to-ne.jp/v1/atone.js",
    "production": "https://auth.atone.be/v1/atone.js",
}
# The widget script sits beside the API root of a sandbox: ``…/v1/`` → ``…/v1/atone.js``.
WIDGET_SCRIPT_NAME: Final = "atone.js"

# --------------------------------------------------------------------------- headers (§2) [C]

HEADER_AUTHORIZATION: Final = "Authorization"
HEADER_CONTENT_TYPE: Final = "Content-Type"
HEADER_ACCEPT: Final = "Accept"
HEADER_TERMINAL_ID: Final = "X-NP-Terminal-Id"
HEADER_METHOD_OVERRIDE: Final = "X-HTTP-Method-Override"
JSON_MEDIA_TYPE: Final = "application/json"

# --------------------------------------------------------------------------- paths (§4) [C]

PATH_TRANSACTIONS: Final = "transactions"
PATH_TRANSACTION: Final = "transactions/{id}"
PATH_SETTLE: Final = "transactions/{id}/settle"
PATH_REFUND: Final = "transactions/{id}/refund"

# --------------------------------------------------------------------------- wire vocabulary

AUTHORIZATION_RESULT_OK: Final = 1  # 与信OK [C]
AUTHORIZATION_RESULT_NG: Final = 2  # 与信NG [C]
NG_REASON_AMOUNT_EXCEEDED: Final = "1"  # 金額超過 [C]
NG_REASON_OTHER: Final = "9"  # その他 [C]
TRANSACTION_OPTION_RECURRING: Final = 1  # 定期取引 [S] (needs a separate contract)

# Mobile numbers go to ``customer.phone_number``; anything else to ``customer.tel`` (§3.2) [C].
MOBILE_PREFIXES: Final = ("070", "080", "090")

# --------------------------------------------------------------------------- limits [C]

MIN_AMOUNT: Final = 1
MAX_AMOUNT: Final = 9_999_999  # amount: 1 to 7 digits (EATN0331)
MAX_DESTINATIONS: Final = 9  # EATN0353

# --------------------------------------------------------------------------- timeouts

# Connect timeout cap (seconds). The read/write timeout is ``ProviderSettings.timeout``.
CONNECT_TIMEOUT_CAP: Final = 5.0

# --------------------------------------------------------------------------- Decisions
# Binding decisions of /work/shared/providers/atone.md ("Kessai's decisions") and the [I] choices
# the adapter makes on top of them. Each is UNCONFIRMED against the (unreachable) official manual
# unless the comment says otherwise.

# Decision 1 [C, two integrations]: Basic auth is base64(secret_key) — no username, NO colon.
AUTH_SCHEME_SECRET_ONLY: Final = True

# Decision 1: real HTTP verbs by default. ``method_override=True`` (tests, or a cart that needs it)
# sends every call as POST with X-HTTP-Method-Override, as the CS-Cart addon does [C].
DEFAULT_METHOD_OVERRIDE: Final = False

# Decision 2 [C, three plugins]: the widget checksum is computed WITHOUT these keys; they are added
# to the payment after hashing. (The official AFTEE example includes shop_transaction_no — the
# emulator accepts both variants; the client uses this one.)
CHECKSUM_EXCLUDED_KEYS: Final[frozenset[str]] = frozenset({"shop_transaction_no", "transaction_options"})

# [I] §4.4: a refund body without ``amount_refund`` is a full cancel (CS-Cart sends none); the reason
# text W2 uses for a cancel.
CANCEL_REFUND_REASON: Final = "キャンセル"
DEFAULT_REFUND_REASON: Final = "返品"

# [I] §4.3: EATN1201 at settle is treated as "already settled" (CS-Cart tolerates it). The adapter
# confirms with GET before treating the capture as done.
ALREADY_SETTLED_CODE: Final = "EATN1201"

# [I] 接続テスト: GET of a transaction id that cannot exist. atone has no "ping" endpoint; an auth
# error proves the keys are wrong, a not-found / invalid-request answer proves they were accepted.
CONNECTION_TEST_TRANSACTION_ID: Final = "tr_0000000000000000"

# [I] An authorization (仮売上) expires after 90 days [S, MakeShop]. No source shows how the API
# reports it; these fields/values are what the adapter recognises as "expired" if they appear.
EXPIRED_FLAG_FIELDS: Final = ("expired", "is_expired")
EXPIRED_STATUS_FIELD: Final = "status"
EXPIRED_STATUS_VALUES: Final[frozenset[str]] = frozenset({"expired"})

# [I] Same for an explicit "cancelled" marker; a refund total equal to the amount also means cancelled.
CANCELLED_FLAG_FIELDS: Final = ("cancelled", "canceled")
CANCELLED_STATUS_VALUES: Final[frozenset[str]] = frozenset({"cancelled", "canceled"})

# [I] Phone numbers are sent as half-width digits only (both phone_number and tel accept that form).
SEND_PHONE_DIGITS_ONLY: Final = True

# [I] Name fields (customer_name, kana, dest names) must be 「全角」 (EATN0342/0343). The adapter always
# widens half-width katakana and the space; widening ASCII letters too is left OFF because atone's own
# go-live check registers the name 「NPテスト」 (half-width "NP") through the merchant's checkout.
NAME_FULL_WIDTH_ASCII: Final = False
