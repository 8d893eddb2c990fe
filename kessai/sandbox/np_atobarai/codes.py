"""Error codes the emulator answers with (protocol note §1.1, §1.5), and the sandbox's own codes.

NP's error answers carry codes only (``{"errors": [{"codes": [...], "id": ...}]}``); the descriptions here
are for the request log and the documentation. Codes starting with ``EKSB`` are the emulator's own, used
where the note documents a rule but not its code ([I]: NP's real code is unknown); they are listed in
``docs/sandbox-np-atobarai.md``.
"""

from __future__ import annotations

from typing import Final

# -- envelope [C S1]
EMPTY: Final = "EPRO0101"  # no item
TOO_MANY: Final = "EPRO0102"  # more than 1,000 items
ID_REQUIRED: Final = "EPRO0105"  # np_transaction_id missing
DUPLICATE_ID: Final = "EPRO0106"  # the same NP id twice in one envelope

# -- NP transaction id [C S1]
ID_NOT_ALNUM: Final = "E0100002"
ID_NOT_11_DIGITS: Final = "E0100003"

# -- state [C S1]
NOT_FOUND: Final = "E0100113"
ALREADY_PAID: Final = "E0100114"
ALREADY_SHIPPED: Final = "E0100115"
ALREADY_CANCELLED: Final = "E0100118"
RETURNED: Final = "E0100131"
WRONG_PAYMENT_METHOD: Final = "E0100132"
ALREADY_REREGISTERED: Final = "E0131006"
TOO_MANY_REREGISTRATIONS: Final = "E0131011"

# -- sandbox codes ([I]: rules of the note whose NP code no source shows)
CONTENT_TYPE: Final = "EKSB0002"  # Content-Type is not application/json
MALFORMED: Final = "EKSB0003"  # not JSON, not an object, "transactions" not an array, an item not an object
SHOP_TRANSACTION_ID: Final = "EKSB0101"  # required, ≤40 printable ASCII
SHOP_ORDER_DATE: Final = "EKSB0102"  # YYYY-MM-DD
SETTLEMENT_TYPE: Final = "EKSB0103"  # "02" or "03"
BILLED_AMOUNT: Final = "EKSB0104"  # an integer > 0
GOODS: Final = "EKSB0105"  # 1+ lines of goods_name, integer goods_price, integer quantity ≥ 1
BILLED_AMOUNT_MISMATCH: Final = "EKSB0106"  # billed_amount ≠ Σ goods_price × quantity
CUSTOMER_REQUIRED: Final = "EKSB0107"  # customer object missing
DUPLICATE_REGISTRATION: Final = "EKSB0120"  # same shop_transaction_id + billed_amount within a month
CARRIER: Final = "EKSB0201"  # pd_company_code not in §1.6
SLIP_NO: Final = "EKSB0202"  # slip_no 1–20 characters
BILL_ISSUED_DATE: Final = "EKSB0203"  # YYYY-MM-DD; required when the invoice is enclosed (03)
NOT_AUTHORIZED: Final = "EKSB0301"  # a shipment for a transaction whose screening is not 00
NOT_SHIPPED: Final = "EKSB0302"  # a re-registration before the shipment report (use update)

DESCRIPTIONS: Final[dict[str, str]] = {
    EMPTY: "取引が1件も指定されていません。",
    TOO_MANY: "一度に指定できる取引は1,000件までです。",
    ID_REQUIRED: "NP取引IDが指定されていません。",
    DUPLICATE_ID: "同じNP取引IDが重複しています。",
    ID_NOT_ALNUM: "NP取引IDは半角英数字です。",
    ID_NOT_11_DIGITS: "NP取引IDは11桁です。",
    NOT_FOUND: "取引が存在しません。",
    ALREADY_PAID: "購入者の支払い後です。",
    ALREADY_SHIPPED: "出荷報告済みです。",
    ALREADY_CANCELLED: "キャンセル済みです。",
    RETURNED: "加盟店への返品後です。",
    WRONG_PAYMENT_METHOD: "支払方法が正しくありません(別送の取引に請求書発行日)。",
    ALREADY_REREGISTERED: "再登録済みです。",
    TOO_MANY_REREGISTRATIONS: "再登録の回数が上限を超えています。",
    CONTENT_TYPE: "Content-Typeにはapplication/jsonを指定してください。",
    MALFORMED: "リクエストのJSONの形式が正しくありません。",
    SHOP_TRANSACTION_ID: "加盟店取引IDは40文字以内の半角英数字記号で指定してください。",
    SHOP_ORDER_DATE: "受注日はYYYY-MM-DD形式で指定してください。",
    SETTLEMENT_TYPE: "決済種別は02または03を指定してください。",
    BILLED_AMOUNT: "請求金額は1以上の整数で指定してください。",
    GOODS: "商品明細(商品名・単価・数量)を正しく指定してください。",
    BILLED_AMOUNT_MISMATCH: "請求金額が商品明細の合計と一致しません。",
    CUSTOMER_REQUIRED: "購入者情報が指定されていません。",
    DUPLICATE_REGISTRATION: "同じ加盟店取引IDと金額の取引が1か月以内に登録されています(二重登録の可能性)。",
    CARRIER: "配送会社コードが正しくありません。",
    SLIP_NO: "伝票番号は1〜20文字で指定してください。",
    BILL_ISSUED_DATE: "請求書発行日はYYYY-MM-DD形式で指定してください(同梱の取引では必須)。",
    NOT_AUTHORIZED: "与信OKではない取引は出荷報告できません。",
    NOT_SHIPPED: "出荷報告前の取引は再登録できません(取引変更を使用してください)。",
}

# Carrier codes pd_company_code (§1.6) [C S1,S2].
CARRIER_CODES: Final[dict[str, str]] = {
    "50000": "佐川急便",
    "59010": "ヤマト運輸",
    "59020": "日本通運",
    "59030": "西濃運輸",
    "59040": "日本郵便 書留",
    "59041": "ゆうパック",
    "59042": "翌朝10時郵便",
    "59043": "ゆうパケット",
    "59050": "セイノースーパーエクスプレス",
    "59060": "福山通運",
    "59080": "新潟運輸",
    "59090": "名鉄運輸",
    "59100": "トナミ運輸",
    "59110": "信州名鉄運輸",
    "59140": "トールエクスプレスジャパン",
    "59150": "エコ配",
    "59160": "JADコーポレーション",
    "55555": "ご契約運送会社",
}
