"""GMO後払い constants: hosts, paths, XML vocabulary, limits, the carrier code map and every choice the
protocol note (``/work/shared/providers/gmo-atobarai.md``) leaves open.

Evidence marks follow the note: [C] confirmed by a cited source, [I] inferred or unverified. Every [I]
choice the adapter relies on is a named constant in the section "Decisions" below, with a comment, so
that it can change in one place.
"""

from __future__ import annotations

from typing import Final

PROVIDER_CODE: Final = "gmo_atobarai"
PROVIDER_NAME: Final = "GMO後払い"

# --------------------------------------------------------------------------- hosts [C S11]

API_BASE_URLS: Final[dict[str, str]] = {
    "test": "https://testshop.gmo-ab.com/auto/",
    "production": "https://shop.gmo-ab.com/auto/",
}

# --------------------------------------------------------------------------- paths [C S11]

PATH_REGISTER: Final = "transaction.do"  # 取引登録
PATH_MODIFY_CANCEL: Final = "modifycanceltransaction.do"  # 取引修正 (updateKind 1) / キャンセル (2)
PATH_AUTHOR: Final = "getauthor.do"  # 与信審査結果確認
PATH_SHIPMENT: Final = "pdrequest.do"  # 出荷報告 (= capture)
PATH_SHIPMENT_MODIFY_CANCEL: Final = "modifycancelpdrequest.do"  # 出荷報告修正 (1) / 取消 (2)

# --------------------------------------------------------------------------- XML vocabulary [C S11]

REQUEST_ROOT: Final = "request"
XML_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8"?>'
RESULT_OK: Final = "OK"
RESULT_NG: Final = "NG"
AUTHOR_OK: Final = "OK"
AUTHOR_NG: Final = "NG"
AUTHOR_IN_REVIEW: Final = "審査中"  # the Japanese literal [C]
UPDATE_KIND_MODIFY: Final = "1"
UPDATE_KIND_CANCEL: Final = "2"
PAYMENT_TYPE_SEPARATE: Final = "2"  # invoice mailed separately (別送)
PAYMENT_TYPE_ENCLOSED: Final = "3"  # invoice enclosed in the parcel (同梱, buyer = recipient)
SHOP_ORDER_DATE_FORMAT: Final = "%Y/%m/%d"  # shopOrderDate YYYY/MM/DD [C]
INVOICE_DATA_CODE: Final = "CT0049"  # "about invoice data" [C S11]

# Carrier codes ``pdcompanycode`` [C S11], keyed by our vocabulary (kessai.providers.carriers).
CARRIER_CODES: Final[dict[str, str]] = {
    "sagawa": "11",  # 佐川急便
    "yamato": "12",  # ヤマト運輸
    "seino": "14",  # 西濃運輸
    "japanpost": "16",  # ゆうパック
    "fukuyama": "18",  # 福山通運
    "other": "99",  # その他
}

# --------------------------------------------------------------------------- limits

MIN_AMOUNT: Final = 1
# [C S21] ¥50,000 excluding tax, cumulative across shops. Our amounts include tax: ×1.1 (10%). Declared as
# the capability's maximum so that the hub does not offer GMO後払い for larger orders.
MAX_AMOUNT: Final = 55_000
MAX_DESTINATIONS: Final = 1  # [I] one delivery per transaction (CS-Cart and the Go client send one)

# --------------------------------------------------------------------------- timeouts

CONNECT_TIMEOUT_CAP: Final = 5.0
MAX_RESPONSE_BYTES: Final = 1_048_576  # an answer larger than this is not read (refused as unparseable)

# --------------------------------------------------------------------------- Decisions
# Choices the note leaves open ([I] or "unconfirmed"). Each is the adapter's reading, in one place.

# [I] CS-Cart posts the XML with curl's default form Content-Type; the adapter says what it sends.
CONTENT_TYPE: Final = "application/xml; charset=UTF-8"

# [I] The answer's root element (``<response>`` in the Java and W2 integrations). Not checked: any root
# with a ``result`` child is read.
RESPONSE_ROOT: Final = "response"

# [I] getauthor.do answers ``transactionResult{gmoTransactionId, authorResult}`` (note); the W2 and Go
# integrations also read ``autoAuthorResult`` / ``maulAuthorResult`` (自動審査 / 目視審査). The first present
# field of this tuple decides: the 目視 (manual) result is final, so it wins over the automatic one.
AUTHOR_RESULT_FIELDS: Final = ("authorResult", "maulAuthorResult", "autoAuthorResult")

# [I] GMO後払い's error codes are not public beyond CT0049. These are the codes Kessai reads specially (and
# the ones Kessai's emulator answers); any other code is ProviderRequestInvalid with GMO's own message.
AUTH_ERROR_CODES: Final[frozenset[str]] = frozenset({"AU0001"})  # shopInfo not accepted → ProviderAuthError
UNAVAILABLE_CODE_PREFIX: Final = "SY"  # system error / maintenance → ProviderUnavailable (outcome unknown)
NOT_FOUND_CODES: Final[frozenset[str]] = frozenset({"TR0001"})  # unknown gmoTransactionId
ALREADY_CANCELLED_CODES: Final[frozenset[str]] = frozenset({"TR0002"})  # a second cancel: read as done
ALREADY_SHIPPED_CODES: Final[frozenset[str]] = frozenset({"TR0003"})  # a second 出荷報告: read as done

# [I] No GMO answer carries amounts, and getauthor.do tells only the screening result — not whether the
# transaction was shipped (captured) or cancelled. Snapshots built from answers that cannot know say so
# in ``raw``; the hub keeps its own amounts and state for them. Same key as NP後払い's adapter.
AMOUNTS_REPORTED_KEY: Final = "_kessai_amounts_reported"
SCREENING_ONLY_KEY: Final = "_kessai_screening_only"

# [I] Account option keys (ProviderAccount.options). ``enclosed_invoice``: 同梱 (paymentType 3) when the
# buyer is the recipient; otherwise (or without the option) 別送 (2), as CS-Cart does [C S11].
OPTION_ENCLOSED_INVOICE: Final = "enclosed_invoice"

# [C S11 default branch] A carrier of our vocabulary without a GMO code is reported as 99 (その他).
FALLBACK_CARRIER_CODE: Final = "99"

# [I] The invoice issue date sent with a 同梱 shipment when the shipment has no date: today in Asia/Tokyo.
# For 別送 the element is sent empty, as CS-Cart does [C S11].
INVOICE_DATE_DEFAULT_TODAY: Final = True

# [I] More than this many item lines: the first (MAX − 1) are kept and the rest folded into one line, as
# CS-Cart does for more than 11 products [C S11: 「その他商品総額」].
MAX_DETAIL_LINES: Final = 11
FOLDED_DETAIL_NAME: Final = "その他商品総額"

# [I] ``httpInfo`` (browser headers, fraud device token) is optional in the Go client; the hub has no
# buyer browser data for server-side registration, so the element is omitted unless given.
SEND_EMPTY_HTTP_INFO: Final = False

# [I] Names are sent with one full-width space between family and given name (Japanese forms' habit).
NAME_SEPARATOR: Final = "\u3000"

# [I] 接続テスト: getauthor.do for an id that cannot exist. An auth error → keys wrong; "not found" (or any
# other NG about the request) → the shopInfo was accepted.
CONNECTION_TEST_TRANSACTION_ID: Final = "000000000000"
