"""The emulator's error codes and Japanese messages.

Answers are HTTP 200 with ``<result>NG</result><errors><error><errorCode/><errorMessage/></error>…</errors>``
(note). The note names one code, ``CT0049`` (about invoice data); every other code here is the emulator's
own choice ([I]), documented in docs/sandbox-gmo-atobarai.md. Messages name the field by its Japanese
label (「購入者郵便番号」, 「配送先住所」, 「商品明細(2行目)の単価」 …) so that staff — and a client — can tell which
field is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GmoErrorDetail:
    code: str
    message: str

    def to_xml(self) -> dict[str, Any]:
        return {"errorCode": self.code, "errorMessage": self.message}


@dataclass
class GmoNg(Exception):
    """An NG answer (one or more errors)."""

    errors: list[GmoErrorDetail] = field(default_factory=list)

    @classmethod
    def of(cls, code: str, message: str) -> GmoNg:
        return cls([GmoErrorDetail(code, message)])

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(e.code for e in self.errors)

    def to_xml(self) -> dict[str, Any]:
        return {"result": "NG", "errors": {"error": [e.to_xml() for e in self.errors]}}


AUTH = ("AU0001", "認証情報（認証ID・加盟店コード・接続パスワード）が正しくありません。")
XML_MALFORMED = ("XM0001", "リクエストのXMLの形式が不正です。")
XML_UNSAFE = ("XM0002", "DTD・実体宣言を含むXMLは受け付けられません。")
XML_MISSING = ("XM0003", "{element}を指定してください。")
SYSTEM = ("SY0001", "システムエラーが発生しました。しばらく時間をおいてから再度お試しください。")
NOT_FOUND = ("TR0001", "指定された取引が存在しません。")
ALREADY_CANCELLED = ("TR0002", "既にキャンセル済みの取引です。")
ALREADY_SHIPPED = ("TR0003", "既に出荷報告済みの取引です。")
STATE = "TR0004"
NOT_SHIPPABLE = (STATE, "与信審査中または与信NGの取引は出荷報告できません。")
SHIPPED_NOT_MODIFIABLE = (STATE, "出荷報告済みの取引は修正できません。出荷報告を取り消してから修正してください。")
NOT_SHIPPED = (STATE, "出荷報告されていない取引です。")
UPDATE_KIND = ("KD0001", "更新区分(updateKind)は1(修正)または2(キャンセル)を指定してください。")
INVOICE_DATA = ("CT0049", "同梱(paymentType=3)は購入者と配送先が同じ場合のみ指定できます。")
DUPLICATE = ("CT0020", "加盟店取引IDが重複しています。")

FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "shopTransactionId": ("CT0001", "加盟店取引IDは半角英数字記号40文字以内で入力してください。"),
    "shopOrderDate": ("CT0002", "注文日はYYYY/MM/DD形式の日付で入力してください。"),
    "fullName": ("CT0003", "購入者氏名を入力してください（60文字以内）。"),
    "fullKanaName": ("CT0004", "購入者氏名カナは全角カタカナで入力してください。"),
    "zipCode": ("CT0005", "購入者郵便番号は半角数字7桁またはハイフン付き8桁で入力してください。"),
    "address": ("CT0006", "購入者住所を入力してください（255文字以内）。"),
    "tel1": ("CT0007", "購入者電話番号は0から始まる半角数字10桁または11桁（ハイフン可）で入力してください。"),
    "email1": ("CT0008", "購入者メールアドレスを正しい形式で入力してください。"),
    "billedAmount": ("CT0009", "請求金額は1以上の半角数字で入力してください。"),
    "paymentType": ("CT0010", "支払区分(paymentType)は2(別送)または3(同梱)を指定してください。"),
    "delivery.fullName": ("CT0011", "配送先氏名を入力してください（60文字以内）。"),
    "delivery.zipCode": ("CT0012", "配送先郵便番号は半角数字7桁またはハイフン付き8桁で入力してください。"),
    "delivery.address": ("CT0013", "配送先住所を入力してください（255文字以内）。"),
    "delivery.tel": ("CT0014", "配送先電話番号は0から始まる半角数字10桁または11桁（ハイフン可）で入力してください。"),
    "details": ("CT0015", "商品明細を1件以上指定してください。"),
    "detailName": ("CT0016", "商品明細({line}行目)の商品名を入力してください。"),
    "detailPrice": ("CT0017", "商品明細({line}行目)の単価は半角数字（値引きはマイナス）で入力してください。"),
    "detailQuantity": ("CT0018", "商品明細({line}行目)の数量は1以上の半角数字で入力してください。"),
    "total": ("CT0019", "商品明細の合計金額が請求金額と一致しません。"),
    "deliveries": ("CT0021", "配送先を1件指定してください。"),
    "pdcompanycode": ("PD0001", "運送会社コード(pdcompanycode)が正しくありません。"),
    "slipno": ("PD0002", "伝票番号は半角英数字とハイフン20文字以内で入力してください。"),
    "invoiceIssueDate": ("PD0003", "請求書発行日はYYYY/MM/DD形式で入力してください（同梱の取引では必須です）。"),
}


def ng(pair: tuple[str, str], **values: str) -> GmoNg:
    code, message = pair
    return GmoNg.of(code, message.format(**values))


def field_error(key: str, **values: str) -> GmoErrorDetail:
    code, message = FIELD_MESSAGES[key]
    return GmoErrorDetail(code, message.format(**values))
