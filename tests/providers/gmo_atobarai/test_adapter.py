"""GmoAtobaraiProvider against httpx.MockTransport: XML bodies, screening results, operations, errors."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from kessai.providers import registry
from kessai.providers.base import (
    Destination,
    LineItem,
    Provider,
    ProviderAuthError,
    ProviderDeclined,
    ProviderPending,
    ProviderRequestInvalid,
    ProviderStatus,
    ProviderUnavailable,
    Shipment,
    UnsupportedOperation,
)
from kessai.providers.gmo_atobarai import GmoAtobaraiProvider
from kessai.providers.gmo_atobarai.adapter import api_base_url, carrier_code, details_from_items, payment_type
from kessai.providers.gmo_atobarai.errors import TransactionNotFound, field_path

from .helpers import (
    AUTHENTICATION_ID,
    GMO_ID,
    PASSWORD,
    SHOP_CODE,
    FakeApi,
    answer,
    info,
    make_order,
    make_settings,
    ng,
    ok,
    provider_with,
    raising,
    texts,
    xml,
)

JST = timezone(timedelta(hours=9))

# --------------------------------------------------------------------------- construction


def test_registry_builds_the_adapter_and_it_satisfies_the_protocol() -> None:
    provider = registry.build("gmo_atobarai", make_settings())
    assert isinstance(provider, GmoAtobaraiProvider)
    assert isinstance(provider, Provider)


def test_capabilities_are_honest() -> None:
    caps = GmoAtobaraiProvider.capabilities
    assert (caps.server_authorize, caps.browser_checkout, caps.held_state) == (True, False, True)
    assert (caps.capture, caps.capture_requires_shipment, caps.shipment_report) == (False, True, True)
    assert (caps.change_amount, caps.change_amount_rescreens, caps.enclosed_invoice) == (True, True, True)
    assert (caps.tokens, caps.webhooks, caps.refund, caps.partial_refund) == (False, False, False, False)
    assert (caps.min_amount, caps.max_amount) == (1, 55_000)


@pytest.mark.parametrize(
    ("environment", "url"),
    [("test", "https://testshop.gmo-ab.com/auto/"), ("production", "https://shop.gmo-ab.com/auto/")],
)
def test_official_hosts(environment: str, url: str) -> None:
    assert api_base_url(environment, None) == url


def test_production_refuses_a_base_url_override() -> None:
    with pytest.raises(ValueError, match="not allowed for production"):
        api_base_url("production", "http://127.0.0.1:8104/auto/")


def test_missing_credentials_are_named() -> None:
    settings = make_settings()
    settings = type(settings)(credentials={"authentication_id": "1"}, environment="test")
    with pytest.raises(ProviderAuthError) as caught:
        GmoAtobaraiProvider(settings)
    assert caught.value.message == "GMO後払いの加盟店コード・接続パスワードが設定されていません。"


def test_repr_never_shows_the_password() -> None:
    provider = GmoAtobaraiProvider(make_settings())
    assert PASSWORD not in repr(provider) + repr(provider.client)


# --------------------------------------------------------------------------- OrderData → XML


def test_register_posts_the_note_body() -> None:
    api = FakeApi(answer(ok()))
    provider_with(api).authorize(make_order(), capture=True)

    request = api.requests[0]
    assert (request.method, request.url.path) == ("POST", "/auto/transaction.do")
    assert request.headers["Content-Type"] == "application/xml; charset=UTF-8"
    assert request.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?><request><shopInfo>')
    root = api.root()
    assert [child.tag for child in root] == ["shopInfo", "buyer", "deliveries"]
    assert texts(root.find("shopInfo")) == {
        "authenticationId": AUTHENTICATION_ID,
        "shopCode": SHOP_CODE,
        "connectPassword": PASSWORD,
    }
    assert texts(root.find("buyer")) == {
        "shopTransactionId": "A-1001",
        "shopOrderDate": "2025/01/31",
        "fullName": "山田\u3000太郎",
        "fullKanaName": "ヤマダ\u3000タロウ",
        "zipCode": "107-0052",
        "address": "東京都港区赤坂1-2-3",
        "tel1": "090-1234-5678",
        "email1": "taro@example.jp",
        "billedAmount": "13824",
        "paymentType": "2",
    }
    delivery = root.find("deliveries/delivery")
    assert delivery is not None
    assert texts(delivery.find("deliveryCustomer")) == {
        "fullName": "山田\u3000花子",
        "zipCode": "107-0052",
        "address": "東京都港区赤坂1-2-3",
        "tel": "03-1234-5678",
    }
    assert [texts(d) for d in delivery.findall("details/detail")] == [
        {"detailName": "1人掛けソファ", "detailPrice": "12800", "detailQuantity": "1"},
        {"detailName": "送料", "detailPrice": "1024", "detailQuantity": "1"},
    ]
    assert root.find("httpInfo") is None  # decision SEND_EMPTY_HTTP_INFO


def test_without_destinations_the_buyer_is_the_recipient() -> None:
    api = FakeApi(answer(ok()))
    provider_with(api).authorize(make_order(destinations=()), capture=False)
    assert texts(api.root().find("deliveries/delivery/deliveryCustomer"))["fullName"] == "山田\u3000太郎"


def test_order_date_defaults_to_today_in_japan() -> None:
    api = FakeApi(answer(ok()))
    provider_with(api).authorize(make_order(ordered_at=""), capture=False)
    assert texts(api.root().find("buyer"))["shopOrderDate"] == datetime.now(JST).strftime("%Y/%m/%d")


def test_two_destinations_are_refused_locally() -> None:
    api = FakeApi(answer(ok()))
    two = (
        Destination(name="A", zip_code="1000001", address="東京都千代田区1"),
        Destination(name="B", zip_code="1000001", address="東京都千代田区2"),
    )
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).authorize(make_order(destinations=two), capture=False)
    assert caught.value.fields[0].field == "destinations"
    assert api.requests == []


def test_a_bad_order_date_is_refused_locally() -> None:
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(FakeApi(answer(ok()))).authorize(make_order(ordered_at="31/01/2025"), capture=False)
    assert caught.value.fields[0].field == "ordered_at"


@pytest.mark.parametrize(
    ("enclosed", "destinations", "kind"),
    [
        (False, None, "2"),
        (True, (), "3"),
        (True, (Destination(name="山田　太郎", zip_code="107-0052", address="東京都港区赤坂1-2-3"),), "3"),
        (True, None, "2"),  # the default destination is 山田 花子: not the buyer
    ],
)
def test_payment_type(enclosed: bool, destinations: tuple[Destination, ...] | None, kind: str) -> None:
    assert payment_type(make_order(destinations=destinations), enclosed=enclosed) == kind


def test_more_than_eleven_lines_are_folded_keeping_the_total() -> None:
    items = tuple(LineItem(sku=f"P{i}", name=f"商品{i}", unit_price=100 * i, quantity=2) for i in range(1, 14))
    details = details_from_items(items)
    assert len(details) == 11
    assert details[-1] == {
        "detailName": "その他商品総額",
        "detailPrice": str(2 * 100 * (11 + 12 + 13)),
        "detailQuantity": "1",
    }
    assert sum(int(d["detailPrice"]) * int(d["detailQuantity"]) for d in details) == sum(i.subtotal for i in items)
    assert len(details_from_items(items[:11])) == 11


@pytest.mark.parametrize(
    ("carrier", "code"),
    [
        ("sagawa", "11"),
        ("yamato", "12"),
        ("seino", "14"),
        ("japanpost", "16"),
        ("fukuyama", "18"),
        ("other", "99"),
        ("yupacket", "99"),
    ],
)
def test_carrier_codes(carrier: str, code: str) -> None:
    assert carrier_code(carrier) == code


# --------------------------------------------------------------------------- screening results


def test_ok_is_authorized_with_the_amount_we_sent() -> None:
    snapshot = provider_with(FakeApi(answer(ok()))).authorize(make_order(), capture=False)
    assert (snapshot.provider_ref, snapshot.status, snapshot.amount, snapshot.shop_transaction_no) == (
        GMO_ID,
        ProviderStatus.AUTHORIZED,
        13824,
        "A-1001",
    )
    assert snapshot.raw["_kessai_amounts_reported"] is True
    assert snapshot.request_id


def test_ng_is_declined_with_the_snapshot() -> None:
    with pytest.raises(ProviderDeclined) as caught:
        provider_with(FakeApi(answer(ok("NG")))).authorize(make_order(), capture=False)
    assert caught.value.code == "register:NG"
    snapshot = caught.value.snapshot
    assert snapshot is not None
    assert (snapshot.provider_ref, snapshot.status, snapshot.decline_code) == (GMO_ID, ProviderStatus.DECLINED, "NG")
    assert snapshot.decline_message.startswith("GMO後払いの審査の結果")


def test_in_review_is_pending_with_the_snapshot() -> None:
    with pytest.raises(ProviderPending) as caught:
        provider_with(FakeApi(answer(ok("審査中")))).authorize(make_order(), capture=False)
    snapshot = caught.value.snapshot
    assert snapshot is not None
    assert (snapshot.status, snapshot.review_reason) == (
        ProviderStatus.PENDING_REVIEW,
        "GMO後払いで与信審査中です。審査結果は与信結果確認で反映されます。",
    )


def test_fetch_says_it_knows_only_the_screening_result() -> None:
    api = FakeApi(answer(ok()))
    snapshot = provider_with(api).fetch(GMO_ID)
    assert api.paths() == ["/auto/getauthor.do"]
    assert texts(api.root().find("transaction")) == {"gmoTransactionId": GMO_ID}
    assert (snapshot.status, snapshot.amount) == (ProviderStatus.AUTHORIZED, 0)
    assert (snapshot.raw["_kessai_amounts_reported"], snapshot.raw["_kessai_screening_only"]) == (False, True)


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ("<authorResult>審査中</authorResult>", ProviderStatus.PENDING_REVIEW),
        ("<autoAuthorResult>審査中</autoAuthorResult><maulAuthorResult>NG</maulAuthorResult>", ProviderStatus.DECLINED),
        ("<autoAuthorResult>OK</autoAuthorResult>", ProviderStatus.AUTHORIZED),
    ],
)
def test_fetch_reads_the_manual_result_before_the_automatic_one(fields: str, status: ProviderStatus) -> None:
    body = xml(
        f"<result>OK</result><transactionResult><gmoTransactionId>{GMO_ID}</gmoTransactionId>{fields}</transactionResult>"
    )
    assert provider_with(FakeApi(answer(body))).fetch(GMO_ID).status is status


def test_reasons_are_shown_to_staff() -> None:
    body = xml(
        f"<result>OK</result><transactionResult><gmoTransactionId>{GMO_ID}</gmoTransactionId>"
        "<maulAuthorResult>NG</maulAuthorResult><reasons><reason>住所不備</reason></reasons></transactionResult>"
    )
    assert provider_with(FakeApi(answer(body))).fetch(GMO_ID).decline_message.endswith("（住所不備）")


@pytest.mark.parametrize(
    "body",
    [
        ok("MAYBE"),
        xml("<result>OK</result>"),
        xml("<result>OK</result><transactionResult><authorResult>OK</authorResult></transactionResult>"),
        xml("<result>PERHAPS</result>"),
        "<html>maintenance</html>",
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><response><result>OK</result></response>',
        "",
    ],
)
def test_an_unreadable_answer_is_unavailable_never_success(body: str) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        provider_with(FakeApi(answer(body))).authorize(make_order(), capture=False)
    assert caught.value.code == "register:unparseable"


# --------------------------------------------------------------------------- operations


def test_cancel_is_update_kind_2() -> None:
    api = FakeApi(answer(ok()))
    snapshot = provider_with(api).cancel(GMO_ID)
    root = api.root()
    assert api.paths() == ["/auto/modifycanceltransaction.do"]
    assert (texts(root.find("kindInfo")), texts(root.find("buyer"))) == (
        {"updateKind": "2"},
        {"gmoTransactionId": GMO_ID},
    )
    assert (snapshot.status, snapshot.raw["_kessai_amounts_reported"]) == (ProviderStatus.CANCELLED, False)


def test_a_second_cancel_is_done() -> None:
    api = FakeApi(answer(ng(("TR0002", "既にキャンセル済みの取引です。"))))
    assert provider_with(api).cancel(GMO_ID).status is ProviderStatus.CANCELLED


def test_change_amount_is_update_kind_1_with_the_whole_order() -> None:
    api = FakeApi(answer(ok()))
    order = make_order(items=(LineItem(sku="P-1", name="ソファ", unit_price=9800, quantity=1),))
    snapshot = provider_with(api).change_amount(GMO_ID, order)
    root = api.root()
    assert [child.tag for child in root] == ["shopInfo", "kindInfo", "buyer", "deliveries"]
    buyer = texts(root.find("buyer"))
    assert (buyer["gmoTransactionId"], buyer["billedAmount"], buyer["shopTransactionId"]) == (GMO_ID, "9800", "A-1001")
    assert (snapshot.provider_ref, snapshot.amount, snapshot.superseded_refs) == (GMO_ID, 9800, ())


def test_change_amount_may_be_declined() -> None:
    with pytest.raises(ProviderDeclined) as caught:
        provider_with(FakeApi(answer(ok("NG")))).change_amount(GMO_ID, make_order())
    assert caught.value.code == "update:NG"


def test_report_shipment_sends_carrier_code_and_slip() -> None:
    api = FakeApi(answer(info()))
    snapshot = provider_with(api).report_shipment(GMO_ID, Shipment(carrier="yamato", tracking_no="1234-5678-9012"))
    assert api.paths() == ["/auto/pdrequest.do"]
    assert texts(api.root().find("transaction")) == {
        "gmoTransactionId": GMO_ID,
        "pdcompanycode": "12",
        "slipno": "123456789012",
        "invoiceIssueDate": "",
    }
    assert (snapshot.status, snapshot.shipment_reported) == (ProviderStatus.CAPTURED, True)


def test_enclosed_shipments_send_the_invoice_date() -> None:
    api = FakeApi(answer(info()))
    provider = provider_with(api, options={"enclosed_invoice": True})
    provider.report_shipment(GMO_ID, Shipment(carrier="sagawa", tracking_no="123456789012", shipped_on="2025-02-03"))
    provider.report_shipment(GMO_ID, Shipment(carrier="sagawa", tracking_no="123456789012"))
    dates = [texts(api.root(i).find("transaction"))["invoiceIssueDate"] for i in (0, 1)]
    assert dates == ["2025/02/03", datetime.now(JST).strftime("%Y/%m/%d")]


def test_a_second_shipment_report_is_done() -> None:
    api = FakeApi(answer(ng(("TR0003", "既に出荷報告済みの取引です。"))))
    assert provider_with(api).report_shipment(GMO_ID, Shipment("yamato", "123456789012")).shipment_reported is True


@pytest.mark.parametrize(
    ("shipment", "field"),
    [
        (Shipment(carrier="dhl", tracking_no="123456789012"), "carrier"),
        (Shipment(carrier="yamato", tracking_no="12345"), "tracking_no"),
        (Shipment(carrier="sagawa", tracking_no=""), "tracking_no"),
    ],
)
def test_shipments_are_checked_against_the_carrier_vocabulary(shipment: Shipment, field: str) -> None:
    api = FakeApi(answer(info()))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(api).report_shipment(GMO_ID, shipment)
    assert caught.value.fields[0].field == field
    assert api.requests == []


def test_modify_and_cancel_shipment() -> None:
    api = FakeApi(answer(info()))
    provider = provider_with(api)
    modified = provider.modify_shipment(GMO_ID, Shipment("fukuyama", "1234567890"))
    withdrawn = provider.cancel_shipment(GMO_ID)
    assert api.paths() == ["/auto/modifycancelpdrequest.do"] * 2
    assert [texts(api.root(i).find("kindInfo")) for i in (0, 1)] == [{"updateKind": "1"}, {"updateKind": "2"}]
    assert texts(api.root(0).find("transaction"))["pdcompanycode"] == "18"
    assert (modified.status, withdrawn.status) == (ProviderStatus.CAPTURED, ProviderStatus.AUTHORIZED)


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda p: p.capture(GMO_ID), "capture:requires_shipment"),
        (lambda p: p.refund(GMO_ID, amount=100), "refund:unsupported"),
        (lambda p: p.charge_token("tok", make_order(), capture=False), "charge:unsupported"),
        (lambda p: p.parse_webhook("payment", {}, b"{}"), "webhook:unsupported"),
        (lambda p: p.checkout_config(make_order(), capture=False), "checkout:unsupported"),
    ],
)
def test_unsupported_operations_say_so_in_japanese(call: object, code: str) -> None:
    api = FakeApi(answer(ok()))
    with pytest.raises(UnsupportedOperation) as caught:
        call(provider_with(api))  # type: ignore[operator]
    assert caught.value.code == code
    assert "GMO後払い" in caught.value.message
    assert api.requests == []


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("body", "status", "error", "code"),
    [
        (ng(("AU0001", "認証情報が正しくありません。")), 200, ProviderAuthError, "register:AU0001"),
        (ng(("SY0001", "システムエラー")), 200, ProviderUnavailable, "register:SY0001"),
        (ng(("TR0001", "指定された取引が存在しません。")), 200, TransactionNotFound, "register:TR0001"),
        (ng(("ZZ9999", "未知のエラー")), 200, ProviderRequestInvalid, "register:ZZ9999"),
        (xml("<result>NG</result>"), 200, ProviderUnavailable, "register:NG"),
        (ok(), 500, ProviderUnavailable, "register:HTTP500"),
        (ok(), 429, ProviderUnavailable, "register:HTTP429"),
        (ok(), 404, ProviderUnavailable, "register:HTTP404"),
    ],
)
def test_errors_are_classified_closed_by_default(body: str, status: int, error: type[Exception], code: str) -> None:
    with pytest.raises(error) as caught:
        provider_with(FakeApi(answer(body, status))).authorize(make_order(), capture=False)
    assert caught.value.code == code  # type: ignore[attr-defined]
    assert caught.value.request_id  # type: ignore[attr-defined]


def test_field_errors_use_our_paths_and_keep_every_message() -> None:
    body = ng(
        ("CT0005", "購入者郵便番号は半角数字7桁またはハイフン付き8桁で入力してください。"),
        ("CT0013", "配送先住所を入力してください（255文字以内）。"),
        ("CT0017", "商品明細(2行目)の単価は半角数字（値引きはマイナス）で入力してください。"),
    )
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(FakeApi(answer(body))).authorize(make_order(), capture=False)
    assert [(f.field, f.code) for f in caught.value.fields] == [
        ("customer.zip_code", "CT0005"),
        ("destinations[0].address", "CT0013"),
        ("items[1].unit_price", "CT0017"),
    ]
    assert caught.value.code == "register:CT0005"
    assert caught.value.message.count("\n") == 2


def test_a_delivery_error_without_destinations_points_at_the_customer() -> None:
    body = ng(("CT0012", "配送先郵便番号は半角数字7桁またはハイフン付き8桁で入力してください。"))
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(FakeApi(answer(body))).authorize(make_order(destinations=()), capture=False)
    assert caught.value.fields[0].field == "customer.zip_code"


def test_ct0049_explains_the_invoice_data_rule() -> None:
    with pytest.raises(ProviderRequestInvalid) as caught:
        provider_with(FakeApi(answer(ng(("CT0049", "請求書データ"))))).authorize(make_order(), capture=False)
    assert caught.value.message.startswith("同梱請求書のデータに誤りがあります")


@pytest.mark.parametrize(
    ("message", "path"),
    [
        ("購入者氏名カナは全角カタカナで入力してください。", "customer.name_kana"),
        ("購入者メールアドレスを正しい形式で入力してください。", "customer.email"),
        ("購入者電話番号は…", "customer.phone"),
        ("配送先氏名を入力してください", "destinations[0].name"),
        ("配送先を1件指定してください。", "destinations[0]"),
        ("商品明細を1件以上指定してください。", "items"),
        ("商品明細(3行目)の数量は1以上", "items[2].quantity"),
        ("加盟店取引IDが重複しています。", "shop_transaction_no"),
        ("運送会社コード(pdcompanycode)が正しくありません。", "carrier"),
        ("伝票番号は半角英数字", "tracking_no"),
        ("支払区分(paymentType)は2(別送)または3(同梱)", ""),
    ],
)
def test_field_path_from_the_japanese_label(message: str, path: str) -> None:
    assert field_path(message) == path


@pytest.mark.parametrize(
    ("exc", "code"),
    [(httpx.ReadTimeout("slow"), "fetch:timeout"), (httpx.RemoteProtocolError("dropped"), "fetch:connection")],
)
def test_transport_failures_are_unavailable(exc: Exception, code: str) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        provider_with(FakeApi(raising(exc))).fetch(GMO_ID)
    assert caught.value.code == code


def test_errors_never_carry_the_password() -> None:
    with pytest.raises(ProviderAuthError) as caught:
        provider_with(FakeApi(answer(ng(("AU0001", "認証エラー"))))).fetch(GMO_ID)
    assert PASSWORD not in repr(caught.value.payload) + caught.value.message


# --------------------------------------------------------------------------- 接続テスト


@pytest.mark.parametrize(
    ("body", "ok_", "text"),
    [
        (ng(("TR0001", "指定された取引が存在しません。")), True, "接続に成功"),
        (ng(("AU0001", "認証エラー")), False, "認証に失敗しました"),
        (ng(("SY0001", "メンテナンス中")), False, "接続できませんでした"),
    ],
)
def test_connection(body: str, ok_: bool, text: str) -> None:
    api = FakeApi(answer(body))
    check = provider_with(api).test_connection()
    assert (check.ok, text in check.message) == (ok_, True)
    assert texts(api.root().find("transaction")) == {"gmoTransactionId": "000000000000"}


def test_the_amounts_marker_is_the_one_the_hub_reads() -> None:
    from kessai.payments.services import AMOUNTS_REPORTED_KEY
    from kessai.providers.gmo_atobarai import const

    assert const.AMOUNTS_REPORTED_KEY == AMOUNTS_REPORTED_KEY
