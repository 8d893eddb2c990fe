"""The atone adapter: :class:`AtoneProvider` implements :class:`kessai.providers.base.Provider`.

atone (翌月後払い by Net Protections) authorizes in the buyer's browser (the ``atone.js`` widget) or
server-side with a stored buyer token (``authentication_token``). See docs/providers/atone.md.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from kessai.providers.atone import const
from kessai.providers.atone.api_types import (
    AuthenticationNotice,
    AuthorizationResult,
    MalformedResponse,
    Transaction,
)
from kessai.providers.atone.checksum import widget_checksum
from kessai.providers.atone.client import ApiResponse, AtoneClient
from kessai.providers.atone.errors import EATN_CODES, decline_message, malformed_response_error
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
    ProviderRequestInvalid,
    ProviderSettings,
    ProviderStatus,
    ProviderUnavailable,
    Shipment,
    TransactionSnapshot,
    UnsupportedOperation,
    WebhookEvent,
)

__all__ = [
    "AtoneProvider",
    "api_base_url",
    "locate_lines",
    "payment_from_order",
    "snapshot_from_transaction",
    "split_phone",
    "status_of",
    "to_full_width",
    "widget_script_url",
]

# --------------------------------------------------------------------------- URLs


def api_base_url(environment: str, base_url: str | None) -> str:
    """The REST root: the official host of the environment, or the (hub-vetted) sandbox override."""
    if environment not in const.API_BASE_URLS:
        raise ValueError(f"atone: unknown environment {environment!r}")
    official = const.API_BASE_URLS[environment]
    if not base_url:
        return official
    url = base_url if base_url.endswith("/") else base_url + "/"
    # Defence in depth for invariant 6 (the hub already refuses this): production keys only ever go
    # to the official host.
    if environment == "production" and url != official:
        raise ValueError("atone: a base-URL override is not allowed for production accounts")
    return url


def widget_script_url(environment: str, base_url: str | None) -> str:
    """THE one place the widget script URL is decided: the environment's official ``atone.js``, or,
    for a sandbox base URL, ``atone.js`` beside its API root (``…/v1/`` → ``…/v1/atone.js``)."""
    if environment not in const.WIDGET_SCRIPT_URLS:
        raise ValueError(f"atone: unknown environment {environment!r}")
    if not base_url:
        return const.WIDGET_SCRIPT_URLS[environment]
    return api_base_url(environment, base_url) + const.WIDGET_SCRIPT_NAME


# --------------------------------------------------------------------------- OrderData → wire

_PHONE_NOISE = re.compile(r"[\s\-‐‑‒–—―−ー()（）]")


def split_phone(phone: str) -> tuple[str, str]:
    """``(phone_number, tel)``: a mobile number (070/080/090 + 8 digits) goes to ``phone_number``,
    any other number to ``tel``. Numbers are sent as half-width digits; text that is not a number is
    passed through as ``tel`` so atone's own check (EATN0348 → ``customer.phone``) reports it."""
    text = unicodedata.normalize("NFKC", phone).strip()
    if not text:
        return "", ""
    digits = _PHONE_NOISE.sub("", text)
    if not digits.isascii() or not digits.isdigit():
        return "", text
    if len(digits) == 11 and digits.startswith(const.MOBILE_PREFIXES):
        return (digits if const.SEND_PHONE_DIGITS_ONLY else text), ""
    return "", (digits if const.SEND_PHONE_DIGITS_ONLY else text)


_HALF_WIDTH_KANA = re.compile(r"[\uFF61-\uFF9F]+")


def to_full_width(text: str) -> str:
    """Name fields are 「全角」 for atone (EATN0342/0343) [I]: half-width katakana become full-width
    (NFKC of those runs only) and the half-width space becomes 「　」. ASCII letters are kept as they
    are (see const.NAME_FULL_WIDTH_ASCII), so markers such as 「NPテスト」 reach atone unchanged."""
    text = _HALF_WIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text)
    text = text.replace(" ", "\u3000")
    if const.NAME_FULL_WIDTH_ASCII:
        text = "".join(chr(ord(c) + 0xFEE0) if 0x21 <= ord(c) <= 0x7E else c for c in text)
    return text


def _put(target: dict[str, Any], key: str, value: str) -> None:
    """Only non-empty values: atone rejects empty strings for some fields, and None is omitted (§3.3)."""
    if value:
        target[key] = value


def _customer(customer: Customer) -> dict[str, Any]:
    wire: dict[str, Any] = {"customer_name": to_full_width(customer.name.strip())}
    _put(wire, "customer_name_kana", to_full_width(customer.name_kana.strip()))
    _put(wire, "company_name", customer.company.strip())
    _put(wire, "zip_code", customer.zip_code.strip())
    _put(wire, "address", customer.address.strip())
    mobile, tel = split_phone(customer.phone)
    _put(wire, "phone_number", mobile)
    _put(wire, "tel", tel)
    _put(wire, "email", customer.email.strip())
    return wire


def _destination(dest: Destination) -> dict[str, Any]:
    wire: dict[str, Any] = {
        "dest_customer_name": to_full_width(dest.name.strip()),
        "dest_zip_code": dest.zip_code.strip(),
        "dest_address": dest.address.strip(),
    }
    _put(wire, "dest_customer_name_kana", to_full_width(dest.name_kana.strip()))
    _put(wire, "dest_company_name", dest.company.strip())
    mobile, tel = split_phone(dest.phone)
    _put(wire, "dest_tel", mobile or tel)
    return wire


def _item(item: LineItem) -> dict[str, Any]:
    return {
        "shop_item_id": item.sku,
        "item_name": item.name,
        "item_price": item.unit_price,
        "item_count": item.quantity,
    }


def payment_from_order(order: OrderData, *, capture: bool) -> dict[str, Any]:
    """The atone ``payment`` object (§3.2) for an order: the widget payment and the REST create body."""
    payment: dict[str, Any] = {
        "amount": order.amount,
        "shop_transaction_no": order.shop_transaction_no,
        "sales_settled": capture,
    }
    _put(payment, "description_trans", order.description)
    payment["customer"] = _customer(order.customer)
    if order.destinations:
        payment["dest_customers"] = [_destination(d) for d in order.destinations]
    payment["items"] = [_item(i) for i in order.items]
    return payment


# --------------------------------------------------------------------------- wire → snapshot


def status_of(tx: Transaction) -> ProviderStatus:
    """NG → DECLINED; refunded in full (or marked cancelled) → CANCELLED; settled → CAPTURED;
    expired (if the API says so) → EXPIRED; OK → AUTHORIZED. An unknown authorization_result is not
    read as anything: :class:`MalformedResponse` (closed by default)."""
    if tx.authorization_result is AuthorizationResult.NG:
        return ProviderStatus.DECLINED
    if tx.authorization_result is not AuthorizationResult.OK:
        raise MalformedResponse(f"unknown authorization_result {tx.authorization_result_raw!r}")
    if tx.cancelled_flag or (tx.amount > 0 and tx.amount_refund_total >= tx.amount):
        return ProviderStatus.CANCELLED
    if tx.settled:
        return ProviderStatus.CAPTURED
    if tx.expired:
        return ProviderStatus.EXPIRED
    return ProviderStatus.AUTHORIZED


def snapshot_from_transaction(
    tx: Transaction, *, request_id: str = "", superseded_refs: tuple[str, ...] = ()
) -> TransactionSnapshot:
    status = status_of(tx)
    declined = status is ProviderStatus.DECLINED
    return TransactionSnapshot(
        provider_ref=tx.id,
        status=status,
        amount=tx.amount,
        shop_transaction_no=tx.shop_transaction_no,
        captured_amount=tx.amount if tx.settled else 0,
        # Refunds count against captured money only: a cancel before settle collected nothing.
        refunded_amount=tx.amount_refund_total if tx.settled else 0,
        decline_code=tx.ng_reason if declined else "",
        decline_message=decline_message(tx.ng_reason) if declined else "",
        buyer_token=tx.authentication_token,
        superseded_refs=superseded_refs,
        request_id=request_id,
        raw=dict(tx.raw),
    )


def locate_lines(fields: tuple[FieldError, ...], body: Mapping[str, Any]) -> tuple[FieldError, ...]:
    """atone names the wire field of a line error but not always the line: when the request had a
    single item (or destination), ``items[*]`` is ``items[0]``."""
    counts = {
        "items[*]": len(body.get("items") or ()),
        "destinations[*]": len(body.get("dest_customers") or ()),
    }
    located: list[FieldError] = []
    for error in fields:
        path = error.field
        for wildcard, count in counts.items():
            if path.startswith(wildcard) and count == 1:
                path = wildcard.replace("*", "0") + path[len(wildcard) :]
        located.append(error if path == error.field else FieldError(path, error.code, error.message))
    return tuple(located)


# --------------------------------------------------------------------------- the provider

_WEBHOOK_KINDS = ("payment", "authentication")


class AtoneProvider:
    """One atone store account. ``AtoneProvider(settings)`` — see :class:`ProviderSettings`.

    ``settings.options``: ``recurring_option`` (bool: send ``transaction_options: [1]`` on token
    charges), ``method_override`` (bool: every call as POST + X-HTTP-Method-Override).
    ``transport`` is for tests (``httpx.MockTransport``).
    """

    code: ClassVar[str] = const.PROVIDER_CODE
    capabilities: ClassVar[Capabilities] = Capabilities(
        browser_checkout=True,  # the atone.js widget
        server_authorize=False,  # only with a buyer token: see ``tokens`` / charge_token
        held_state=False,  # atone answers OK or NG, never 保留 [C]
        capture=True,  # 売上確定 = PATCH /settle
        capture_requires_shipment=False,
        partial_capture=False,
        cancel_after_capture=True,  # full 課金払戻
        refund=True,
        partial_refund=True,  # only after capture (decision 6)
        change_amount=True,  # 取引更新 (updated_transactions), before capture
        change_amount_rescreens=True,  # a new transaction, re-screened: may be NG
        shipment_report=False,  # recorded by the hub only
        tokens=True,  # authentication_token → 継続課金
        webhooks=True,  # 決済Webhook / 認証Webhook (unsigned: a hint, confirmed by fetch)
        enclosed_invoice=False,
        max_amount=const.MAX_AMOUNT,
        min_amount=const.MIN_AMOUNT,
    )

    def __init__(self, settings: ProviderSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        credentials = settings.credentials
        self.public_key = (credentials.get("public_key") or "").strip()
        secret_key = (credentials.get("secret_key") or "").strip()
        self.terminal_id = (credentials.get("terminal_id") or "").strip()
        if not secret_key:
            raise ProviderAuthError("店舗秘密鍵が設定されていません。", code="config:secret_key")
        self._secret_key = secret_key
        self.environment = settings.environment
        self.script_url = widget_script_url(settings.environment, settings.base_url)
        self.recurring_option = bool(settings.options.get("recurring_option", False))
        self.client = AtoneClient(
            secret_key=secret_key,
            base_url=api_base_url(settings.environment, settings.base_url),
            timeout=settings.timeout,
            terminal_id=self.terminal_id,
            method_override=bool(settings.options.get("method_override", const.DEFAULT_METHOD_OVERRIDE)),
            transport=transport,
        )

    def __repr__(self) -> str:  # never the keys
        return f"AtoneProvider(environment={self.environment!r}, base_url={self.client.base_url!r})"

    # ----------------------------------------------------------------------- helpers

    @staticmethod
    def _transaction(action: str, response: ApiResponse) -> Transaction:
        try:
            tx = Transaction.parse(response.data)
            status_of(tx)  # refuse an unreadable authorization_result here, once
        except MalformedResponse as exc:
            raise malformed_response_error(
                action, status=response.status, request_id=response.request_id, detail=str(exc)
            ) from exc
        return tx

    def _snapshot(
        self, action: str, response: ApiResponse, *, superseded_refs: tuple[str, ...] = ()
    ) -> TransactionSnapshot:
        tx = self._transaction(action, response)
        return snapshot_from_transaction(tx, request_id=response.request_id, superseded_refs=superseded_refs)

    @staticmethod
    def _raise_if_declined(action: str, snapshot: TransactionSnapshot, request_id: str) -> None:
        if snapshot.status is ProviderStatus.DECLINED:
            raise ProviderDeclined(
                snapshot.decline_message,
                code=f"{action}:NG{snapshot.decline_code}",
                request_id=request_id,
                payload={"authorization_result_ng_reason": snapshot.decline_code},
                snapshot=snapshot,
            )

    @staticmethod
    def _unexpected(action: str, response: ApiResponse, snapshot: TransactionSnapshot) -> ProviderError:
        # A 200 whose transaction is not in the state the call promises: never read it as success.
        return ProviderUnavailable(
            f"atoneの応答の取引状態が想定外です（{snapshot.status.value}）。取引照会で確認してください。",
            code=f"{action}:unexpected_state",
            request_id=response.request_id,
            snapshot=snapshot,
        )

    def _create(self, body: Mapping[str, Any], action: str) -> ApiResponse:
        try:
            return self.client.create_transaction(body, action=action)
        except ProviderRequestInvalid as exc:
            exc.fields = locate_lines(exc.fields, body)
            raise

    def _fetch(self, provider_ref: str, action: str) -> tuple[Transaction, ApiResponse]:
        response = self.client.get_transaction(provider_ref, action=action)
        return self._transaction(action, response), response

    # ----------------------------------------------------------------------- Provider

    def authorize(self, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        raise UnsupportedOperation(
            "atoneは購入者がatoneの決済画面で認証する必要があるため、注文情報だけでは与信できません。"
            "決済画面（ウィジェット）をご利用いただくか、保存済みの認証トークンで決済してください。",
            code="authorize:unsupported",
        )

    def charge_token(self, token: str, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        """``POST /transactions`` with the buyer's ``authentication_token`` (継続課金 / server-side)."""
        token = token.strip()
        if not token:
            message = EATN_CODES["EATN0301"].message
            raise ProviderRequestInvalid(
                message,
                code="charge:no_token",
                fields=(FieldError("authentication_token", "EATN0301", message),),
            )
        body = payment_from_order(order, capture=capture)
        body["authentication_token"] = token
        if self.recurring_option:
            body["transaction_options"] = [const.TRANSACTION_OPTION_RECURRING]
        response = self._create(body, "charge")
        snapshot = self._snapshot("charge", response)
        self._raise_if_declined("charge", snapshot, response.request_id)
        return snapshot

    def capture(self, provider_ref: str, *, amount: int | None = None) -> TransactionSnapshot:
        """売上確定 (``PATCH /settle``). Whole amount only; EATN1201 ("already settled") is confirmed
        with a GET and then answered with the settled transaction (idempotent capture)."""
        if amount is not None:
            tx, _ = self._fetch(provider_ref, "settle")
            if amount != tx.amount:
                raise UnsupportedOperation(
                    f"atoneは一部売上確定に対応していません（与信額 {tx.amount:,}円、指定額 {amount:,}円）。"
                    "金額を変更する場合は金額変更を行ってから売上確定してください。",
                    code="settle:partial_capture",
                )
        try:
            response = self.client.settle(provider_ref)
        except ProviderRequestInvalid as exc:
            if exc.code != f"settle:{const.ALREADY_SETTLED_CODE}":
                raise
            tx, fetched = self._fetch(provider_ref, "settle")
            snapshot = snapshot_from_transaction(tx, request_id=fetched.request_id)
            if snapshot.status is not ProviderStatus.CAPTURED:
                raise
            return snapshot
        snapshot = self._snapshot("settle", response)
        if snapshot.status is not ProviderStatus.CAPTURED:
            raise self._unexpected("settle", response, snapshot)
        return snapshot

    def cancel(self, provider_ref: str) -> TransactionSnapshot:
        """取消 = 課金払戻 without ``amount_refund`` (full; before or after capture)."""
        response = self.client.refund(provider_ref, {"refund_reason": const.CANCEL_REFUND_REASON}, action="cancel")
        snapshot = self._snapshot("cancel", response)
        if snapshot.status is not ProviderStatus.CANCELLED:
            raise self._unexpected("cancel", response, snapshot)
        return snapshot

    def refund(self, provider_ref: str, *, amount: int, reason: str = "") -> TransactionSnapshot:
        """返金 = 課金払戻 with ``amount_refund`` (partial, or the whole remaining amount)."""
        if amount < const.MIN_AMOUNT or amount > const.MAX_AMOUNT:
            message = "返金額は1以上の7桁以内の半角数値で設定してください。"
            raise ProviderRequestInvalid(
                message, code="refund:amount", fields=(FieldError("amount", "amount", message),)
            )
        body: dict[str, Any] = {
            "amount_refund": amount,
            "refund_reason": reason.strip() or const.DEFAULT_REFUND_REASON,
        }
        response = self.client.refund(provider_ref, body, action="refund")
        return self._snapshot("refund", response)

    def change_amount(self, provider_ref: str, order: OrderData) -> TransactionSnapshot:
        """取引更新: ``POST /transactions`` with ``updated_transactions: [old]``, the same
        ``shop_transaction_no`` and the buyer's token read from the old transaction. Re-screened:
        NG raises :class:`ProviderDeclined` carrying the NG snapshot."""
        old, _ = self._fetch(provider_ref, "update")
        old_status = status_of(old)
        if old_status is ProviderStatus.CAPTURED:
            raise UnsupportedOperation(
                "売上確定済みのatone取引は金額変更できません。減額は返金（一部返金）で行ってください。",
                code="update:settled",
            )
        if old_status is not ProviderStatus.AUTHORIZED:
            raise ProviderRequestInvalid(
                f"この取引（{old_status.value}）は金額変更できません。",
                code=f"update:{old_status.value}",
            )
        if not old.authentication_token:
            raise ProviderRequestInvalid(
                "購入者の決済認証トークンが取得できないため、atoneの金額変更ができません。",
                code="update:no_token",
                fields=(FieldError("authentication_token", "EATN0301", EATN_CODES["EATN0301"].message),),
            )
        body = payment_from_order(order, capture=False)
        body["shop_transaction_no"] = old.shop_transaction_no or order.shop_transaction_no
        body["authentication_token"] = old.authentication_token
        body["updated_transactions"] = [provider_ref]
        if old.transaction_options:  # carried over, as CS-Cart does on update [S]
            body["transaction_options"] = list(old.transaction_options)
        response = self._create(body, "update")
        snapshot = self._snapshot("update", response, superseded_refs=(provider_ref,))
        self._raise_if_declined("update", snapshot, response.request_id)
        return snapshot

    def report_shipment(self, provider_ref: str, shipment: Shipment) -> TransactionSnapshot:
        raise UnsupportedOperation(
            "atoneには出荷報告がありません。出荷情報はKessaiにのみ記録されます。",
            code="shipment:unsupported",
        )

    def fetch(self, provider_ref: str) -> TransactionSnapshot:
        """取引参照: ``GET /transactions/{id}``."""
        response = self.client.get_transaction(provider_ref, action="fetch")
        return self._snapshot("fetch", response)

    def parse_webhook(self, kind: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """決済Webhook (``payment``: a transaction object) / 認証Webhook (``authentication``).

        Unsigned (decision 4): the event is a hint; the hub confirms with :meth:`fetch`.
        ``dedup_key`` = sha256(kind + "\\n" + body): a redelivery of the same body dedups.
        """
        if kind not in _WEBHOOK_KINDS:
            raise ProviderRequestInvalid(f"不明なWebhook種別です: {kind}", code="webhook:kind")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProviderRequestInvalid("WebhookのJSONの形式が不正です。", code=f"webhook:{kind}:json") from exc
        if not isinstance(data, dict):
            raise ProviderRequestInvalid("Webhookの本文がJSONオブジェクトではありません。", code=f"webhook:{kind}:json")
        dedup_key = hashlib.sha256(kind.encode("utf-8") + b"\n" + body).hexdigest()
        if kind == "authentication":
            try:
                notice = AuthenticationNotice.parse(data)
            except MalformedResponse as exc:
                raise ProviderRequestInvalid(
                    "認証Webhookに決済認証トークンがありません。", code="webhook:authentication:token"
                ) from exc
            return WebhookEvent(
                kind="authentication",
                buyer_token=notice.authentication_token,
                buyer_id=notice.user_no,
                dedup_key=dedup_key,
                payload=data,
            )
        # 決済Webhook: only the id is required — the payload is a hint confirmed by fetch.
        tx_id = data.get("id")
        if not isinstance(tx_id, str) or not tx_id:
            raise ProviderRequestInvalid("決済Webhookに取引IDがありません。", code="webhook:payment:id")
        token = data.get("authentication_token")
        customer = data.get("customer")
        user_no = customer.get("user_no") if isinstance(customer, dict) else None
        return WebhookEvent(
            kind="payment",
            provider_ref=tx_id,
            buyer_token=token if isinstance(token, str) else "",
            buyer_id=str(user_no) if isinstance(user_no, str | int) and not isinstance(user_no, bool) else "",
            dedup_key=dedup_key,
            payload=data,
        )

    def checkout_config(self, order: OrderData, *, capture: bool, pre_token: str = "") -> CheckoutConfig:
        """``Atone.config`` options: ``pub_key``, ``pre_token``, ``payment`` (with ``shop_transaction_no``
        and the ``checksum`` of decision 2), ``terminal_id`` when set."""
        if not self.public_key:
            raise ProviderAuthError("店舗公開可能鍵が設定されていません。", code="checkout:public_key")
        payment = payment_from_order(order, capture=capture)
        payment["checksum"] = widget_checksum(payment, self._secret_key)
        widget: dict[str, Any] = {"pub_key": self.public_key, "pre_token": pre_token, "payment": payment}
        if self.terminal_id:
            widget["terminal_id"] = self.terminal_id
        return CheckoutConfig(script_url=self.script_url, widget=widget)

    def test_connection(self) -> ConnectionCheck:
        """接続テスト: ``GET /transactions/tr_0000000000000000`` (an id that cannot exist).

        An auth error → the keys are wrong; a not-found / invalid-request answer (or, improbably, a
        transaction) → atone accepted the secret key; anything else → unavailable. The public key
        is only checked by the widget, so it is reported as not verified.
        """
        if not self.public_key:
            return ConnectionCheck(False, "店舗公開可能鍵が設定されていません。")
        try:
            self.client.get_transaction(const.CONNECTION_TEST_TRANSACTION_ID, action="test")
        except ProviderAuthError as exc:
            return ConnectionCheck(False, f"認証に失敗しました。店舗秘密鍵を確認してください。（{exc.code}）")
        except ProviderRequestInvalid:
            pass  # the request was authenticated and answered: the keys work
        except ProviderError as exc:
            return ConnectionCheck(
                False,
                f"atoneに接続できませんでした。時間を空けて再度お試しください。（{exc.code}）",
            )
        return ConnectionCheck(
            True,
            "atoneへの接続に成功しました。店舗秘密鍵は有効です。"
            "（店舗公開可能鍵は決済画面の表示時にatoneが確認します。）",
        )
