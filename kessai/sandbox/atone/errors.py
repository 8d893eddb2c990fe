"""atone error codes (EATN…), their Japanese messages and the error response shape.

Shape (protocol note §5): ``{"name", "message", "errors": [{"code", "messages", "params"}]}``.
The official SDK table gives HTTP 400 / ``InvalidRequest`` for every code; EATN0306 (authentication
failed) is answered with 401 by Kessai's decision 1. Messages imitate the provider's style
(「…で設定して下さい。」); their exact wording at atone is not public.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Code(StrEnum):
    TOKEN_MISSING = "EATN0301"  # noqa: S105 - an error code, not a secret
    TOKEN_MALFORMED = "EATN0302"  # noqa: S105 - an error code, not a secret
    TOKEN_INVALID = "EATN0303"  # noqa: S105 - an error code, not a secret
    PUBLIC_KEY_NOT_FOUND = "EATN0304"
    LOGIN_PHONE_INVALID = "EATN0305"
    AUTHENTICATION_FAILED = "EATN0306"
    AMOUNT = "EATN0331"
    SHOP_TRANSACTION_NO = "EATN0332"
    SALES_SETTLED = "EATN0333"
    DESCRIPTION_TRANS = "EATN0334"
    SHOP_ITEM_ID = "EATN0335"
    ITEMS_EMPTY = "EATN0336"
    ITEMS_TOO_MANY = "EATN0337"
    ITEM_NAME = "EATN0338"
    ITEM_PRICE = "EATN0339"
    ITEM_COUNT = "EATN0340"
    ITEM_URL = "EATN0341"
    CUSTOMER_NAME = "EATN0342"
    CUSTOMER_NAME_KANA = "EATN0343"
    COMPANY_NAME = "EATN0344"
    DEPARTMENT = "EATN0345"
    ZIP_CODE = "EATN0346"
    ADDRESS = "EATN0347"
    TEL = "EATN0348"
    EMAIL = "EATN0349"
    SUBTRACT_POINT = "EATN0350"
    CHECKSUM = "EATN0351"
    CONTENT_TYPE = "EATN0352"
    DEST_CUSTOMERS_TOO_MANY = "EATN0353"
    FAMILY_NAME = "EATN0354"
    GIVEN_NAME = "EATN0355"
    FAMILY_NAME_KANA = "EATN0356"
    GIVEN_NAME_KANA = "EATN0357"
    PHONE_NUMBER = "EATN0358"
    BIRTHDAY = "EATN0359"
    SEX_DIVISION_OR_CONTRACT = "EATN0360"
    TOTAL_PURCHASE_COUNT = "EATN0361"
    TOTAL_PURCHASE_AMOUNT = "EATN0362"
    MEMBER_PHONE_INVALID = "EATN0363"
    MALFORMED_JSON = "EATN0397"
    BAD_REQUEST = "EATN0398"
    UNAVAILABLE = "EATN0399"
    ALREADY_SETTLED = "EATN1201"


MESSAGES: dict[Code, str] = {
    Code.TOKEN_MISSING: "認証トークンを設定して下さい。",
    Code.TOKEN_MALFORMED: "認証トークンの形式が不正です。",
    Code.TOKEN_INVALID: "認証トークンが無効です。再度認証を行って下さい。",
    Code.PUBLIC_KEY_NOT_FOUND: "店舗公開可能鍵が存在しません。",
    Code.LOGIN_PHONE_INVALID: "携帯電話番号を正しく入力して下さい。",
    Code.AUTHENTICATION_FAILED: "認証に失敗しました。",
    Code.AMOUNT: "課金額は1以上の7桁以内の半角数値で設定して下さい。",
    Code.SHOP_TRANSACTION_NO: "加盟店取引IDは100文字以内の半角英数字記号で設定して下さい。",
    Code.SALES_SETTLED: "売上確定フラグはtrueまたはfalseで設定して下さい。",
    Code.DESCRIPTION_TRANS: ("加盟店取引備考は255文字以内で設定して下さい。改行以外の制御文字は使用できません。"),
    Code.SHOP_ITEM_ID: "加盟店商品IDは100文字以内の半角英数字記号で設定して下さい。",
    Code.ITEMS_EMPTY: "商品明細を1件以上設定して下さい。",
    Code.ITEMS_TOO_MANY: "商品明細は9999件以内で設定して下さい。",
    Code.ITEM_NAME: "商品名は100文字以内で設定して下さい。",
    Code.ITEM_PRICE: "商品単価は6桁以内の半角数値で設定して下さい。",
    Code.ITEM_COUNT: "個数は1以上の5桁以内の半角数値で設定して下さい。",
    Code.ITEM_URL: "商品URLは1000文字以内で設定して下さい。",
    Code.CUSTOMER_NAME: "氏名は100文字以内で設定して下さい。",
    Code.CUSTOMER_NAME_KANA: "氏名(カナ)は128文字以内で設定して下さい。",
    Code.COMPANY_NAME: "会社名は100文字以内で設定して下さい。",
    Code.DEPARTMENT: "部署名は30文字以内で設定して下さい。",
    Code.ZIP_CODE: '郵便番号は半角数字7桁または半角数字3桁+"-"+半角数字4桁で設定して下さい。',
    Code.ADDRESS: "住所は255文字以内で設定して下さい。",
    Code.TEL: "電話番号は0から始まる半角数字10桁または11桁(ハイフン区切り可)で設定して下さい。",
    Code.EMAIL: "メールアドレスは255文字以内の正しい形式で設定して下さい。",
    Code.SUBTRACT_POINT: "利用ポイントは0以上の7桁以内の半角数値で設定して下さい。",
    Code.CHECKSUM: "不正なチェックサムです。",
    Code.CONTENT_TYPE: "Content-Typeはapplication/jsonを設定して下さい。",
    Code.DEST_CUSTOMERS_TOO_MANY: "配送先は9件以内で設定して下さい。",
    Code.FAMILY_NAME: "姓は50文字以内で設定して下さい。",
    Code.GIVEN_NAME: "名は50文字以内で設定して下さい。",
    Code.FAMILY_NAME_KANA: "姓(カナ)は64文字以内で設定して下さい。",
    Code.GIVEN_NAME_KANA: "名(カナ)は64文字以内で設定して下さい。",
    Code.PHONE_NUMBER: ("携帯電話番号は070、080、090から始まる半角数字11桁(ハイフン区切り可)で設定して下さい。"),
    Code.BIRTHDAY: "生年月日はYYYY-MM-DD形式で設定して下さい。",
    Code.SEX_DIVISION_OR_CONTRACT: "性別は1(男性)または2(女性)で設定して下さい。",
    Code.TOTAL_PURCHASE_COUNT: "累計購入回数は7桁以内の半角数値で設定して下さい。",
    Code.TOTAL_PURCHASE_AMOUNT: "累計購入金額は8桁以内の半角数値で設定して下さい。",
    Code.MEMBER_PHONE_INVALID: "会員の有効な電話番号が登録されていません。",
    Code.MALFORMED_JSON: "JSONの形式が不正です。",
    Code.BAD_REQUEST: "不正なリクエストです。",
    Code.UNAVAILABLE: "只今サービスが大変混み合っております。しばらく時間をおいてから再度お試し下さい。",
    Code.ALREADY_SETTLED: "既に売上確定済みの取引です。",
}

# Messages for situations that share a code with a field rule or with EATN0398.
NO_VALID_CONTRACT = "有効なサービス契約がありません。"
AMOUNT_MISMATCH = "商品明細の合計金額(商品単価×個数の合計)が課金額と一致しません。"
DUPLICATE_SHOP_TRANSACTION_NO = "加盟店取引IDが重複しています。"
TRANSACTION_NOT_FOUND = "指定された取引が存在しません。"
NOT_A_JSON_OBJECT = "リクエストボディはJSONオブジェクトで設定して下さい。"
METHOD_OVERRIDE_INVALID = "X-HTTP-Method-OverrideにはGET、POST、PATCHのいずれかを設定して下さい。"
ID_REQUIRED = "取引IDを設定して下さい。"
TRANSACTION_OPTIONS_INVALID = "取引オプションは数値の配列で設定して下さい。"
UPDATED_TRANSACTIONS_INVALID = "更新対象取引は取引IDの配列で設定して下さい。"
RELATED_TRANSACTION_INVALID = "関連取引は取引IDで設定して下さい。"
AMOUNT_REFUND_INVALID = "払戻金額は1以上の7桁以内の半角数値で設定して下さい。"
AMOUNT_REFUND_TOO_LARGE = "払戻金額が払戻可能な金額を超えています。"
REFUND_TEXT_TOO_LONG = "払戻理由・払戻備考は255文字以内で設定して下さい。"
REFUND_NOT_SETTLED = "売上確定前の取引は一部払戻できません。金額を指定せずに取消して下さい。"
ALREADY_CANCELLED = "既に取消済みの取引です。"
ALREADY_REFUNDED = "既に全額払戻済みの取引です。"
DECLINED_NOT_SETTLEABLE = "与信NGの取引は売上確定できません。"
DECLINED_NOT_REFUNDABLE = "与信NGの取引は取消・払戻できません。"
AUTHORIZATION_EXPIRED = "仮売上の有効期限(90日)を過ぎているため売上確定できません。"
UPDATE_WINDOW_PASSED = "取引登録から120日を経過した取引は更新できません。"
SUPERSEDED = "取引更新により取消済みの取引です。"
NOT_FOUND_PATH = "指定されたURLは存在しません。"
METHOD_NOT_ALLOWED = "指定されたHTTPメソッドは利用できません。"
SERVER_ERROR = "システムエラーが発生しました。"


@dataclass(frozen=True)
class ErrorDetail:
    code: Code
    message: str
    param: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code.value,
            "messages": [self.message],
            "params": [self.param] if self.param else [],
        }


def detail(code: Code, param: str | None = None, message: str | None = None) -> ErrorDetail:
    return ErrorDetail(code=code, message=message if message is not None else MESSAGES[code], param=param)


NAME_INVALID_REQUEST = "InvalidRequest"
NAME_UNAUTHORIZED = "Unauthorized"
NAME_NOT_FOUND = "NotFound"
NAME_METHOD_NOT_ALLOWED = "MethodNotAllowed"
NAME_SERVER_ERROR = "InternalServerError"

STATUS_FOR_NAME: dict[str, int] = {
    NAME_INVALID_REQUEST: 400,
    NAME_UNAUTHORIZED: 401,
    NAME_NOT_FOUND: 404,
    NAME_METHOD_NOT_ALLOWED: 405,
    NAME_SERVER_ERROR: 500,
}


@dataclass
class AtoneError(Exception):
    """An error answer: raised anywhere below the router, rendered by the app."""

    details: list[ErrorDetail]
    name: str = NAME_INVALID_REQUEST
    message: str = field(default="")

    def __post_init__(self) -> None:
        if not self.message:
            self.message = self.details[0].message if len(self.details) == 1 else MESSAGES[Code.BAD_REQUEST]

    @property
    def status(self) -> int:
        return STATUS_FOR_NAME[self.name]

    @property
    def codes(self) -> list[str]:
        return [d.code.value for d in self.details]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "message": self.message, "errors": [d.to_json() for d in self.details]}


def fail(
    code: Code, param: str | None = None, message: str | None = None, name: str = NAME_INVALID_REQUEST
) -> AtoneError:
    """Build a one-detail error (``raise fail(...)``)."""
    return AtoneError(details=[detail(code, param, message)], name=name)
