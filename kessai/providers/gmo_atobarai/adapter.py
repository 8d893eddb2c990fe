"""The GMO後払い adapter: :class:`GmoAtobaraiProvider` implements :class:`kessai.providers.base.Provider`.

GMO後払い (GMOペイメントサービス) screens server-side: ``transaction.do`` answers OK, NG or 審査中; a 審査中
is resolved by polling ``getauthor.do``. There is no separate capture: the 出荷報告 (``pdrequest.do``) is
what bills the buyer. Amount changes re-register the order (``modifycanceltransaction.do`` updateKind 1,
re-screened); a cancel is updateKind 2. No tokens, no webhooks, no refund call. XML everywhere (see
:mod:`.wire` for the defused parser). See docs/providers/gmo-atobarai.md.

What GMO's answers cannot tell is said in the snapshot's ``raw`` (decisions ``AMOUNTS_REPORTED_KEY`` and
``SCREENING_ONLY_KEY``): no answer carries amounts, and getauthor.do reports only the screening result.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone
from typing import Any, ClassVar

import httpx

from kessai.providers import carriers
from kessai.providers.base import (
    Capabilities,
    CheckoutConfig,
    ConnectionCheck,
    Customer,
    Destination,
    FieldError,
    LineItem,
    OrderData,
    ProviderAuthError,
    ProviderDeclined,
    ProviderError,
    ProviderPending,
    ProviderRequestInvalid,
    ProviderSettings,
    ProviderStatus,
    Shipment,
    TransactionSnapshot,
    UnsupportedOperation,
    WebhookEvent,
)
from kessai.providers.gmo_atobarai import const
from kessai.providers.gmo_atobarai.api_types import AuthorResult, MalformedResponse, TransactionResult
from kessai.providers.gmo_atobarai.client import ApiResponse, GmoAtobaraiClient
from kessai.providers.gmo_atobarai.errors import (
    DECLINE_MESSAGE,
    REVIEW_MESSAGE,
    TransactionNotFound,
    malformed_response_error,
)

__all__ = [
    "GmoAtobaraiProvider",
    "api_base_url",
    "carrier_code",
    "delivery_from_order",
    "details_from_items",
    "modify_body",
    "payment_type",
    "register_body",
    "snapshot_from_result",
]

JST = timezone(timedelta(hours=9), "JST")

# --------------------------------------------------------------------------- URLs


def api_base_url(environment: str, base_url: str | None) -> str:
    """``https://testshop.gmo-ab.com/auto/`` / ``https://shop.gmo-ab.com/auto/``, or the hub-vetted sandbox
    override for a test account."""
    if environment not in const.API_BASE_URLS:
        raise ValueError(f"gmo_atobarai: unknown environment {environment!r}")
    official = const.API_BASE_URLS[environment]
    if not base_url:
        return official
    url = base_url if base_url.endswith("/") else base_url + "/"
    # Defence in depth for invariant 6 (the hub already refuses this): production credentials only go to GMO.
    if environment == "production" and url != official:
        raise ValueError("gmo_atobarai: a base-URL override is not allowed for production accounts")
    return url


# --------------------------------------------------------------------------- OrderData → wire

_DASHES = re.compile("[\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70]")
_SPACES = re.compile(r"[\s\u3000]+")


def _nfkc(text: str) -> str:
    return _DASHES.sub("-", unicodedata.normalize("NFKC", text)).strip()


def _name(text: str) -> str:
    """NFKC (half-width katakana → full-width) with one full-width space between the names (decision)."""
    return _SPACES.sub(const.NAME_SEPARATOR, unicodedata.normalize("NFKC", text).strip())


def _zip(text: str) -> str:
    value = _nfkc(text)
    digits = value.replace("-", "")
    return f"{digits[:3]}-{digits[3:]}" if len(digits) == 7 and digits.isdigit() else value


def _same_person(customer: Customer, destination: Destination) -> bool:
    return (
        _name(customer.name) == _name(destination.name)
        and _zip(customer.zip_code) == _zip(destination.zip_code)
        and _nfkc(customer.address) == _nfkc(destination.address)
    )


def payment_type(order: OrderData, *, enclosed: bool) -> str:
    """``3`` (同梱) only when the account asks for it and the buyer is the recipient; else ``2`` (別送) [C S11]."""
    if not enclosed:
        return const.PAYMENT_TYPE_SEPARATE
    if order.destinations and not _same_person(order.customer, order.destinations[0]):
        return const.PAYMENT_TYPE_SEPARATE
    return const.PAYMENT_TYPE_ENCLOSED


def _order_date(order: OrderData) -> str:
    if order.ordered_at:
        try:
            return date.fromisoformat(order.ordered_at[:10]).strftime(const.SHOP_ORDER_DATE_FORMAT)
        except ValueError:
            message = "注文日はYYYY-MM-DD形式で指定してください。"
            raise ProviderRequestInvalid(
                message, code="register:ordered_at", fields=(FieldError("ordered_at", "ordered_at", message),)
            ) from None
    return datetime.now(JST).strftime(const.SHOP_ORDER_DATE_FORMAT)


def _put(target: dict[str, Any], key: str, value: str) -> None:
    if value:
        target[key] = value


def _buyer(order: OrderData, kind: str) -> dict[str, Any]:
    customer = order.customer
    buyer: dict[str, Any] = {
        "shopTransactionId": order.shop_transaction_no,
        "shopOrderDate": _order_date(order),
        "fullName": _name(customer.name),
    }
    _put(buyer, "fullKanaName", _name(customer.name_kana))
    buyer["zipCode"] = _zip(customer.zip_code)
    buyer["address"] = _nfkc(customer.address)
    _put(buyer, "companyName", customer.company.strip())
    buyer["tel1"] = _nfkc(customer.phone)
    buyer["email1"] = _nfkc(customer.email)
    buyer["billedAmount"] = str(order.amount)
    buyer["paymentType"] = kind
    return buyer


def details_from_items(items: tuple[LineItem, ...]) -> list[dict[str, str]]:
    """``detail[{detailName, detailPrice, detailQuantity}]``; beyond ``MAX_DETAIL_LINES`` the tail is folded
    into one 「その他商品総額」 line (decision) so that the total still equals the billed amount."""
    lines = list(items)
    folded: LineItem | None = None
    if len(lines) > const.MAX_DETAIL_LINES:
        keep = const.MAX_DETAIL_LINES - 1
        rest = lines[keep:]
        folded = LineItem(sku="", name=const.FOLDED_DETAIL_NAME, unit_price=sum(i.subtotal for i in rest), quantity=1)
        lines = lines[:keep]
    if folded is not None:
        lines.append(folded)
    return [
        {"detailName": item.name, "detailPrice": str(item.unit_price), "detailQuantity": str(item.quantity)}
        for item in lines
    ]


def delivery_from_order(order: OrderData) -> tuple[dict[str, Any], str]:
    """``deliveries{delivery{deliveryCustomer, details}}`` (one delivery: the first destination, else the
    buyer) and OUR field path the delivery customer came from, for error reporting."""
    if len(order.destinations) > const.MAX_DESTINATIONS:
        message = f"GMO後払いの配送先は{const.MAX_DESTINATIONS}件のみ指定できます。"
        raise ProviderRequestInvalid(
            message, code="register:destinations", fields=(FieldError("destinations", "destinations", message),)
        )
    if order.destinations:
        dest = order.destinations[0]
        name, kana, zip_code, address, phone, company = (
            dest.name,
            dest.name_kana,
            dest.zip_code,
            dest.address,
            dest.phone,
            dest.company,
        )
        source = "destinations[0]"
    else:
        customer = order.customer
        name, kana, zip_code, address, phone, company = (
            customer.name,
            customer.name_kana,
            customer.zip_code,
            customer.address,
            customer.phone,
            customer.company,
        )
        source = "customer"
    delivery_customer: dict[str, Any] = {"fullName": _name(name)}
    _put(delivery_customer, "fullKanaName", _name(kana))
    delivery_customer["zipCode"] = _zip(zip_code)
    delivery_customer["address"] = _nfkc(address)
    _put(delivery_customer, "companyName", company.strip())
    _put(delivery_customer, "tel", _nfkc(phone))
    details = {"detail": details_from_items(order.items)}
    return {"delivery": {"deliveryCustomer": delivery_customer, "details": details}}, source


def _http_info(http_header: str, device_info: str) -> dict[str, Any]:
    if not (http_header or device_info or const.SEND_EMPTY_HTTP_INFO):
        return {}
    return {"httpInfo": {"httpHeader": http_header, "deviceInfo": device_info}}


def register_body(order: OrderData, *, enclosed: bool) -> tuple[dict[str, Any], str]:
    """transaction.do: ``httpInfo?``, ``buyer``, ``deliveries`` (shopInfo is added by the client)."""
    deliveries, source = delivery_from_order(order)
    body: dict[str, Any] = {**_http_info("", ""), "buyer": _buyer(order, payment_type(order, enclosed=enclosed))}
    body["deliveries"] = deliveries
    return body, source


def modify_body(provider_ref: str, order: OrderData, *, enclosed: bool) -> tuple[dict[str, Any], str]:
    """modifycanceltransaction.do updateKind 1: ``kindInfo`` + the full order with ``buyer.gmoTransactionId``."""
    deliveries, source = delivery_from_order(order)
    buyer = {"gmoTransactionId": provider_ref, **_buyer(order, payment_type(order, enclosed=enclosed))}
    body: dict[str, Any] = {"kindInfo": {"updateKind": const.UPDATE_KIND_MODIFY}, **_http_info("", "")}
    body["buyer"] = buyer
    body["deliveries"] = deliveries
    return body, source


def carrier_code(carrier: str) -> str:
    """GMO's ``pdcompanycode`` for a carrier of our vocabulary (fallback 99 その他, decision)."""
    carriers.carrier(carrier)  # raises UnknownCarrier for a code outside the vocabulary
    return const.CARRIER_CODES.get(carrier, const.FALLBACK_CARRIER_CODE)


# --------------------------------------------------------------------------- wire → snapshot

_STATUS_BY_RESULT: Mapping[AuthorResult, ProviderStatus] = {
    AuthorResult.OK: ProviderStatus.AUTHORIZED,
    AuthorResult.NG: ProviderStatus.DECLINED,
    AuthorResult.IN_REVIEW: ProviderStatus.PENDING_REVIEW,
}


def snapshot_from_result(
    result: TransactionResult,
    *,
    request_id: str,
    amount: int | None,
    shop_transaction_no: str = "",
    screening_only: bool = False,
    raw: Mapping[str, Any] | None = None,
) -> TransactionSnapshot:
    """A snapshot from an answer with ``authorResult``. ``amount=None``: the answer cannot know it."""
    if result.author_result is None:
        raise MalformedResponse("no authorResult")
    status = _STATUS_BY_RESULT[result.author_result]
    reasons = "、".join(result.reasons)
    marks = {const.AMOUNTS_REPORTED_KEY: amount is not None, const.SCREENING_ONLY_KEY: screening_only}
    return TransactionSnapshot(
        provider_ref=result.gmo_transaction_id,
        status=status,
        amount=amount or 0,
        shop_transaction_no=result.shop_transaction_id or shop_transaction_no,
        request_id=request_id,
        decline_code=const.AUTHOR_NG if status is ProviderStatus.DECLINED else "",
        decline_message=(DECLINE_MESSAGE + (f"（{reasons}）" if reasons else ""))
        if status is ProviderStatus.DECLINED
        else "",
        review_reason=(REVIEW_MESSAGE + (f"（{reasons}）" if reasons else ""))
        if status is ProviderStatus.PENDING_REVIEW
        else "",
        raw={**dict(raw or {}), **marks},
    )


# --------------------------------------------------------------------------- the provider


class GmoAtobaraiProvider:
    """One GMO後払い shop. ``GmoAtobaraiProvider(settings)`` — see :class:`ProviderSettings`.

    Credentials: ``authentication_id`` (認証ID), ``shop_code`` (加盟店コード), ``connect_password``.
    ``settings.options``: ``enclosed_invoice`` (bool: 同梱 when the buyer is the recipient).
    ``transport`` is for tests (``httpx.MockTransport``).
    """

    code: ClassVar[str] = const.PROVIDER_CODE
    capabilities: ClassVar[Capabilities] = Capabilities(
        browser_checkout=False,
        server_authorize=True,  # transaction.do with the order data
        held_state=True,  # 審査中, resolved through getauthor.do
        capture=False,  # no separate capture: the 出荷報告 bills
        capture_requires_shipment=True,
        partial_capture=False,
        cancel_after_capture=True,  # updateKind 2 on a shipped transaction
        refund=False,  # no refund call: change the amount (before shipment) or cancel
        partial_refund=False,
        change_amount=True,  # updateKind 1 (before the 出荷報告)
        change_amount_rescreens=True,  # the modified order is screened again (OK / NG / 審査中)
        shipment_report=True,  # pdrequest.do
        tokens=False,
        webhooks=False,  # polling only
        enclosed_invoice=True,  # paymentType 3 + invoiceIssueDate
        max_amount=const.MAX_AMOUNT,
        min_amount=const.MIN_AMOUNT,
    )

    def __init__(self, settings: ProviderSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        credentials = settings.credentials
        authentication_id = (credentials.get("authentication_id") or "").strip()
        shop_code = (credentials.get("shop_code") or "").strip()
        password = (credentials.get("connect_password") or "").strip()
        missing = [
            label
            for label, value in (
                ("認証ID", authentication_id),
                ("加盟店コード", shop_code),
                ("接続パスワード", password),
            )
            if not value
        ]
        if missing:
            raise ProviderAuthError(f"GMO後払いの{'・'.join(missing)}が設定されていません。", code="config:credentials")
        self.environment = settings.environment
        self.enclosed = bool(settings.options.get(const.OPTION_ENCLOSED_INVOICE, False))
        self.client = GmoAtobaraiClient(
            authentication_id=authentication_id,
            shop_code=shop_code,
            connect_password=password,
            base_url=api_base_url(settings.environment, settings.base_url),
            timeout=settings.timeout,
            transport=transport,
        )

    def __repr__(self) -> str:  # never the password
        return f"GmoAtobaraiProvider(environment={self.environment!r}, base_url={self.client.base_url!r})"

    # ----------------------------------------------------------------------- helpers

    @staticmethod
    def _transaction(action: str, answer: ApiResponse, *, with_result: bool) -> TransactionResult:
        try:
            return answer.response.require_transaction(with_result=with_result)
        except MalformedResponse as exc:
            raise malformed_response_error(action, status=200, request_id=answer.request_id, detail=str(exc)) from exc

    def _screened(self, action: str, answer: ApiResponse, order: OrderData) -> TransactionSnapshot:
        """OK → the snapshot; 審査中 → ProviderPending; NG → ProviderDeclined (both carry the snapshot)."""
        result = self._transaction(action, answer, with_result=True)
        snapshot = snapshot_from_result(
            result,
            request_id=answer.request_id,
            amount=order.amount,
            shop_transaction_no=order.shop_transaction_no,
            raw=answer.response.raw,
        )
        if snapshot.status is ProviderStatus.DECLINED:
            raise ProviderDeclined(
                snapshot.decline_message,
                code=f"{action}:NG",
                request_id=answer.request_id,
                payload={"authorResult": const.AUTHOR_NG},
                snapshot=snapshot,
            )
        if snapshot.status is ProviderStatus.PENDING_REVIEW:
            raise ProviderPending(
                snapshot.review_reason,
                code=f"{action}:review",
                request_id=answer.request_id,
                payload={"authorResult": const.AUTHOR_IN_REVIEW},
                snapshot=snapshot,
            )
        return snapshot

    @staticmethod
    def _done(
        provider_ref: str, status: ProviderStatus, answer: ApiResponse, *, shipped: bool = False
    ) -> TransactionSnapshot:
        """A snapshot for an answer that says only "done" (cancel, 出荷報告): amounts are not known."""
        return TransactionSnapshot(
            provider_ref=provider_ref,
            status=status,
            amount=0,
            request_id=answer.request_id,
            shipment_reported=shipped,
            raw={**dict(answer.response.raw), const.AMOUNTS_REPORTED_KEY: False, const.SCREENING_ONLY_KEY: False},
        )

    # ----------------------------------------------------------------------- Provider

    def authorize(self, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        """取引登録 (transaction.do). ``capture`` has no effect: GMO後払い bills on the 出荷報告.
        OK → authorized; 審査中 → :class:`ProviderPending`; NG → :class:`ProviderDeclined`."""
        body, source = register_body(order, enclosed=self.enclosed)
        answer = self.client.call("register", const.PATH_REGISTER, body, destination_field=source)
        return self._screened("register", answer, order)

    def charge_token(self, token: str, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        raise UnsupportedOperation(
            "GMO後払いには継続課金（保存済みトークンでの決済）がありません。注文ごとに与信してください。",
            code="charge:unsupported",
        )

    def capture(self, provider_ref: str, *, amount: int | None = None) -> TransactionSnapshot:
        raise UnsupportedOperation(
            "GMO後払いの売上確定は出荷報告（配送会社と伝票番号の登録）で行います。",
            code="capture:requires_shipment",
        )

    def cancel(self, provider_ref: str) -> TransactionSnapshot:
        """取引キャンセル (modifycanceltransaction.do updateKind 2), before or after the 出荷報告. A second
        cancel ("already cancelled", decision ALREADY_CANCELLED_CODES) is the end state we asked for."""
        body = {"kindInfo": {"updateKind": const.UPDATE_KIND_CANCEL}, "buyer": {"gmoTransactionId": provider_ref}}
        answer = self.client.call("cancel", const.PATH_MODIFY_CANCEL, body, accept_codes=const.ALREADY_CANCELLED_CODES)
        return self._done(provider_ref, ProviderStatus.CANCELLED, answer)

    def change_amount(self, provider_ref: str, order: OrderData) -> TransactionSnapshot:
        """取引修正 (updateKind 1): the full order again, re-screened under the same gmoTransactionId.
        NG → :class:`ProviderDeclined`, 審査中 → :class:`ProviderPending` (both with the snapshot)."""
        body, source = modify_body(provider_ref, order, enclosed=self.enclosed)
        answer = self.client.call("update", const.PATH_MODIFY_CANCEL, body, destination_field=source)
        return self._screened("update", answer, order)

    def report_shipment(self, provider_ref: str, shipment: Shipment) -> TransactionSnapshot:
        """出荷報告 (pdrequest.do) = the capture. The carrier comes from our vocabulary
        (:mod:`kessai.providers.carriers`) and is mapped to ``pdcompanycode``; the slip number is checked by
        the carrier's rule. An "already reported" answer (decision ALREADY_SHIPPED_CODES) is treated as done."""
        transaction = self._shipment_transaction("shipment", provider_ref, shipment)
        answer = self.client.call(
            "shipment", const.PATH_SHIPMENT, {"transaction": transaction}, accept_codes=const.ALREADY_SHIPPED_CODES
        )
        return self._done(provider_ref, ProviderStatus.CAPTURED, answer, shipped=True)

    def modify_shipment(self, provider_ref: str, shipment: Shipment) -> TransactionSnapshot:
        """出荷報告修正 (modifycancelpdrequest.do updateKind 1 [I]): another carrier or slip number."""
        transaction = self._shipment_transaction("shipment_update", provider_ref, shipment)
        body = {"kindInfo": {"updateKind": const.UPDATE_KIND_MODIFY}, "transaction": transaction}
        answer = self.client.call("shipment_update", const.PATH_SHIPMENT_MODIFY_CANCEL, body)
        return self._done(provider_ref, ProviderStatus.CAPTURED, answer, shipped=True)

    def cancel_shipment(self, provider_ref: str) -> TransactionSnapshot:
        """出荷報告取消 (modifycancelpdrequest.do updateKind 2 [I]): the transaction is authorized again."""
        body = {
            "kindInfo": {"updateKind": const.UPDATE_KIND_CANCEL},
            "transaction": {"gmoTransactionId": provider_ref, "invoiceIssueDate": ""},
        }
        answer = self.client.call("shipment_cancel", const.PATH_SHIPMENT_MODIFY_CANCEL, body)
        return self._done(provider_ref, ProviderStatus.AUTHORIZED, answer)

    def _shipment_transaction(self, action: str, provider_ref: str, shipment: Shipment) -> dict[str, Any]:
        try:
            code = carrier_code(shipment.carrier)
        except carriers.UnknownCarrier:
            message = "配送会社を選択してください。"
            raise ProviderRequestInvalid(
                message, code=f"{action}:carrier", fields=(FieldError("carrier", "carrier", message),)
            ) from None
        try:
            slip = carriers.validate_slip(shipment.carrier, shipment.tracking_no)
        except carriers.InvalidSlip as exc:
            raise ProviderRequestInvalid(
                exc.message, code=f"{action}:slip", fields=(FieldError("tracking_no", "slipno", exc.message),)
            ) from None
        return {
            "gmoTransactionId": provider_ref,
            "pdcompanycode": code,
            "slipno": slip,
            "invoiceIssueDate": self._invoice_date(action, shipment),
        }

    def _invoice_date(self, action: str, shipment: Shipment) -> str:
        """請求書発行日 for 同梱 (the shipping date, else today in JST); empty for 別送, as CS-Cart sends it."""
        if not self.enclosed:
            return ""
        if shipment.shipped_on:
            try:
                return date.fromisoformat(shipment.shipped_on[:10]).strftime(const.SHOP_ORDER_DATE_FORMAT)
            except ValueError:
                message = "出荷日はYYYY-MM-DD形式で指定してください。"
                raise ProviderRequestInvalid(
                    message,
                    code=f"{action}:shipped_on",
                    fields=(FieldError("shipped_on", "invoiceIssueDate", message),),
                ) from None
        if const.INVOICE_DATE_DEFAULT_TODAY:
            return datetime.now(JST).strftime(const.SHOP_ORDER_DATE_FORMAT)
        return ""

    def refund(self, provider_ref: str, *, amount: int, reason: str = "") -> TransactionSnapshot:
        raise UnsupportedOperation(
            "GMO後払いには返金の操作がありません。出荷報告前なら金額変更（取引修正）で減額し、"
            "全額の場合は取引をキャンセルしてください。",
            code="refund:unsupported",
        )

    def fetch(self, provider_ref: str) -> TransactionSnapshot:
        """与信審査結果確認 (getauthor.do): OK / NG / 審査中 only. The snapshot says so in ``raw``
        (amounts not reported, screening result only): GMO has no call that reports shipment or cancel."""
        body = {"transaction": {"gmoTransactionId": provider_ref}}
        answer = self.client.call("fetch", const.PATH_AUTHOR, body)
        result = self._transaction("fetch", answer, with_result=True)
        return snapshot_from_result(
            result, request_id=answer.request_id, amount=None, screening_only=True, raw=answer.response.raw
        )

    def parse_webhook(self, kind: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        raise UnsupportedOperation(
            "GMO後払いは通知（Webhook）を送りません。審査中の取引は与信結果確認で反映されます。",
            code="webhook:unsupported",
        )

    def checkout_config(self, order: OrderData, *, capture: bool, pre_token: str = "") -> CheckoutConfig:
        raise UnsupportedOperation(
            "GMO後払いには購入者向けの決済画面がありません。注文情報で与信してください。",
            code="checkout:unsupported",
        )

    def test_connection(self) -> ConnectionCheck:
        """接続テスト: getauthor.do for an id that cannot exist. An auth error → the shopInfo is wrong; "not
        found" (or any other answer about the request) → it was accepted."""
        body = {"transaction": {"gmoTransactionId": const.CONNECTION_TEST_TRANSACTION_ID}}
        try:
            self.client.call("test", const.PATH_AUTHOR, body)
        except ProviderAuthError as exc:
            return ConnectionCheck(
                False, f"認証に失敗しました。認証ID・加盟店コード・接続パスワードを確認してください。（{exc.code}）"
            )
        except (TransactionNotFound, ProviderRequestInvalid):
            pass  # the request was authenticated and answered
        except ProviderError as exc:
            return ConnectionCheck(
                False, f"GMO後払いに接続できませんでした。時間を空けて再度お試しください。（{exc.code}）"
            )
        return ConnectionCheck(True, "GMO後払いへの接続に成功しました。認証情報は有効です。")
