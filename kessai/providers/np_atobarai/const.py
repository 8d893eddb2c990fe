"""NP後払い constants: hosts, headers, paths, wire vocabulary, limits, the carrier code map, and every choice
the protocol note (``/work/shared/providers/np-atobarai.md``) leaves open.

Evidence marks follow the note: [C] confirmed by a cited source, [I] inferred or unverified. Every [I]
choice the adapter relies on is a named constant in the section "Decisions" below, with a comment, so
that it can change in one place.
"""

from __future__ import annotations

from typing import Final

PROVIDER_CODE: Final = "np_atobarai"
PROVIDER_NAME: Final = "NP後払い"

# --------------------------------------------------------------------------- hosts (§1.1) [C S1,S2]

API_BASE_URLS: Final[dict[str, str]] = {
    "test": "https://ctcp.np-payment-gateway.com/v1/",
    "production": "https://cp.np-payment-gateway.com/v1/",
}

# --------------------------------------------------------------------------- headers (§1.1) [C]

HEADER_AUTHORIZATION: Final = "Authorization"  # Basic base64(merchant_code:sp_code)
HEADER_TERMINAL_ID: Final = "X-NP-Terminal-Id"
HEADER_CONTENT_TYPE: Final = "Content-Type"
HEADER_ACCEPT: Final = "Accept"
JSON_MEDIA_TYPE: Final = "application/json"

# --------------------------------------------------------------------------- paths (§1.2) [C]

PATH_REGISTER: Final = "transactions"  # POST 取引登録
PATH_UPDATE: Final = "transactions/update"  # PATCH 取引変更 (re-screens)
PATH_CANCEL: Final = "transactions/cancel"  # PATCH 取引キャンセル
PATH_SHIPMENTS: Final = "shipments"  # POST 出荷報告 (= capture)
PATH_REREGISTER: Final = "transactions/reregister"  # POST 一部返品取引再登録 (new id)
PATH_PAYMENTS_FIND: Final = "transactions/payments/find"  # POST 支払状況
PATH_AUTHORIZATIONS_FIND: Final = "authorizations/find"  # POST 与信結果取得 (body shape [I])

# --------------------------------------------------------------------------- envelope (§1.1) [C]

ENVELOPE_KEY: Final = "transactions"
RESULTS_KEY: Final = "results"
ERRORS_KEY: Final = "errors"
MAX_BATCH_ITEMS: Final = 1000  # EPRO0102 above this
MIN_BATCH_ITEMS: Final = 1  # EPRO0101 below this

# --------------------------------------------------------------------------- wire vocabulary (§1.3, §1.4) [C]

SETTLEMENT_SEPARATE: Final = "02"  # NP後払い, invoice mailed separately (別送)
SETTLEMENT_ENCLOSED: Final = "03"  # invoice enclosed in the parcel (同梱, NP後払いwiz)

AUTHORI_OK: Final = "00"  # 与信OK
AUTHORI_HOLD: Final = "10"  # 保留 (authori_hold: RE codes)
AUTHORI_NG: Final = "20"  # NG (authori_ng: one code)
AUTHORI_REVIEW: Final = "40"  # 審査前/審査中 (resolved later; poll authorizations/find)

PAYMENT_STATUS_PAID: Final = "20"  # the buyer has paid [C S3]

# Carrier codes ``pd_company_code`` (§1.6) [C S1,S2], keyed by our vocabulary (kessai.providers.carriers).
# 「その他」 has no NP code: a shipment with it is refused rather than reported under a wrong carrier.
CARRIER_CODES: Final[dict[str, str]] = {
    "sagawa": "50000",  # 佐川急便
    "yamato": "59010",  # ヤマト運輸
    "nittsu": "59020",  # 日本通運
    "seino": "59030",  # 西濃運輸
    "japanpost_registered": "59040",  # 日本郵便 書留
    "japanpost": "59041",  # ゆうパック
    "japanpost_next_morning": "59042",  # 翌朝10時郵便
    "yupacket": "59043",  # ゆうパケット
    "seino_super_express": "59050",  # セイノースーパーエクスプレス
    "fukuyama": "59060",  # 福山通運
    "niigata_unyu": "59080",  # 新潟運輸
    "meitetsu": "59090",  # 名鉄運輸
    "tonami": "59100",  # トナミ運輸
    "shinshu_meitetsu": "59110",  # 信州名鉄運輸
    "toll_express": "59140",  # トールエクスプレスジャパン
    "ecohai": "59150",  # エコ配
    "jad": "59160",  # JADコーポレーション
    "contracted": "55555",  # ご契約運送会社 (no tracking numbers; an option of the contract [C S7])
}

# --------------------------------------------------------------------------- limits [C S1,S2]

SHOP_TRANSACTION_ID_MAX: Final = 40  # 加盟店取引ID ≤40 [C S2]
SLIP_NO_MAX: Final = 20  # slip_no 1–20 characters [C S2,S3]
MIN_AMOUNT: Final = 1  # billed_amount > 0 [C]
# [I] The commonly cited buyer limit (cumulative unpaid balance, tax incl.; varies by contract). Declared as
# the capability's maximum so that the hub does not offer NP for larger orders; above it NP answers NG001.
MAX_AMOUNT: Final = 55_000
MAX_DESTINATIONS: Final = 1  # one ``dest_customer`` object per transaction [C S1,S2,S3]

# --------------------------------------------------------------------------- timeouts

# NP recommends ~30 s [C S1]; the hub's ``ProviderSettings.timeout`` is used for reads, capped here.
MAX_READ_TIMEOUT: Final = 30.0
CONNECT_TIMEOUT_CAP: Final = 5.0

# --------------------------------------------------------------------------- codes with a special meaning [C S1]

ALREADY_SHIPPED_CODE: Final = "E0100115"  # shipment already reported: /shipments again is "done", update fails
ALREADY_CANCELLED_CODE: Final = "E0100118"
NOT_FOUND_CODE: Final = "E0100113"
EMPTY_ENVELOPE_CODE: Final = "EPRO0101"  # also the answer to the credential probe

# --------------------------------------------------------------------------- Decisions
# Choices the note leaves open ([I] or "unconfirmed"). Each is the adapter's reading, in one place.

# [I] /authorizations/find takes ``{"transactions": [{"np_transaction_id"}]}`` and answers the register
# result fields (authori_result, authori_ng, authori_hold). The note infers this shape; the endpoint
# exists [C S1,S2].
AUTHORIZATION_FIND_ID_FIELD: Final = "np_transaction_id"

# [I] The find endpoints answer a cancelled (or re-registered) transaction with E0100118 ("already
# cancelled"), the code NP uses for any operation on a cancelled transaction. Read as CANCELLED.
FIND_CANCELLED_CODE: Final = ALREADY_CANCELLED_CODE

# [I] No NP answer carries amounts (register/update return the screening result, cancel and shipments
# only the id, the find endpoints the screening result and payment status). Snapshots built from those
# answers say so with this raw key = False; the hub keeps its own amounts for them (payments/services.py).
AMOUNTS_REPORTED_KEY: Final = "_kessai_amounts_reported"

# [I] The find endpoints cannot tell whether a shipment was reported. Only ``payment_status == "20"``
# (paid [C]) proves it (NP invoices after the shipment report); anything else is read as "not known".
SHIPPED_PAYMENT_STATUSES: Final[frozenset[str]] = frozenset({PAYMENT_STATUS_PAID})

# [I] A repeated /transactions/cancel answering E0100118 is the end state we asked for: read as done
# (like E0100115 on /shipments, which Saleor treats as done [C S1]).
CANCEL_ALREADY_DONE_IS_SUCCESS: Final = True

# [I] With no destination, ``dest_customer`` is omitted (NP then delivers to the buyer). w2 sends empty
# strings when the invoice is enclosed [C S3]; an omitted object is the same thing without the noise.
OMIT_EMPTY_DEST_CUSTOMER: Final = True

# [I] Name fields are full-width for NP (limits are counted in full-width characters [C S1]): half-width
# katakana and the ASCII space are widened (family + U+3000 + given [C S1,S2]); ASCII letters are kept.
NAME_SEPARATOR: Final = "\u3000"

# [I] The invoice date sent with a 同梱 shipment when the shipment has no date: today in Asia/Tokyo.
INVOICE_DATE_DEFAULT_TODAY: Final = True

# [I] Account option keys (ProviderAccount.options): 同梱 invoices (settlement_type 03) instead of 別送 (02).
OPTION_ENCLOSED_INVOICE: Final = "enclosed_invoice"

# [I] 接続テスト: POST /authorizations/find with an empty envelope: 400 (EPRO0101) proves the credentials
# were accepted, 401/403 that they were not [C S1,S2].
CONNECTION_PROBE_BODY: Final[dict[str, list[object]]] = {ENVELOPE_KEY: []}
