"""The Paidy adapter: :class:`PaidyProvider` implements :class:`kessai.providers.base.Provider`.

Paidy (あと払いペイディ) authorizes in the buyer's browser (the Checkout script at ``apps.paidy.com``,
SMS OTP); the hub then confirms with ``GET /payments/{id}`` (:meth:`PaidyProvider.fetch`). Server-side
payments need a recurring token (``POST /payments`` with ``token_id``: 継続課金). Capture is always the
full amount; refunds may be partial; the amount can never change (close and re-create). See
docs/providers/paidy.md.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from kessai.common.text import normalize, normalize_digits, prefecture_of
from kessai.providers.base import (
    Capabilities,
    CheckoutConfig,
    ConnectionCheck,
    Customer,
    FieldError,
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
from kessai.providers.paidy import const
from kessai.providers.paidy.api_types import (
    MalformedResponse,
    Payment,
    PaymentEvent,
    PaymentStatus,
    Token,
    TokenEvent,
    parse_token_list,
)
from kessai.providers.paidy.client import ApiResponse, PaidyClient
from kessai.providers.paidy.errors import (
    DECLINE_CODE,
    PaymentNotFound,
    decline_message,
    malformed_response_error,
)

__all__ = [
    "PaidyProvider",
    "api_base_url",
    "checkout_payload",
    "checkout_script_url",
    "normalize_phone",
    "shipping_address",
    "snapshot_from_payment",
    "split_address",
    "status_of",
    "token_payment_body",
]

logger = logging.getLogger("kessai.providers.paidy")

# --------------------------------------------------------------------------- URLs


def api_base_url(environment: str, base_url: str | None) -> str:
    """The REST root: ``https://api.paidy.com/`` (one host for test and live keys), or the hub-vetted
    sandbox override for a test account."""
    if environment not in ("test", "production"):
        raise ValueError(f"paidy: unknown environment {environment!r}")
    if not base_url:
        return const.API_BASE_URL
    url = base_url if base_url.endswith("/") else base_url + "/"
    # Defence in depth for invariant 6 (the hub already refuses this): live keys only go to Paidy.
    if environment == "production" and url != const.API_BASE_URL:
        raise ValueError("paidy: a base-URL override is not allowed for production accounts")
    return url


def checkout_script_url(environment: str, base_url: str | None) -> str:
    """THE one place the Checkout script URL is decided: ``https://apps.paidy.com/``, or for a sandbox
    base URL the script beside its API root (``…/`` → ``…/apps/``, decision SANDBOX_CHECKOUT_SCRIPT_PATH)."""
    root = api_base_url(environment, base_url)
    if root == const.API_BASE_URL:
        return const.CHECKOUT_SCRIPT_URL
    return root + const.SANDBOX_CHECKOUT_SCRIPT_PATH


# --------------------------------------------------------------------------- OrderData → wire

_CITY = re.compile(r"^(.+?[市区町村])")
_SPACES = re.compile(r"[\s\u3000]+")
_NOT_DIGIT = re.compile(r"[^0-9]")
_ZIP_DIGITS = re.compile(r"([0-9]{3})-?([0-9]{4})")


def normalize_phone(phone: str) -> str:
    """Half-width digits only (``090-1234-5678`` → ``09012345678``; Paidy's test phone is ``08000000001``)."""
    return _NOT_DIGIT.sub("", normalize(phone))


def _name(text: str) -> str:
    return _SPACES.sub(const.NAME_SPACE, unicodedata.normalize("NFKC", text)).strip()


def split_address(address: str) -> tuple[str, str, str]:
    """``(state, city, line1)`` from one Japanese address string (decision SPLIT_ADDRESS, [I]).

    「東京都港区赤坂1-2-3」 → (「東京都」, 「港区」, 「赤坂1-2-3」). Without a leading prefecture the whole
    text is ``line1``; without a 市/区/町/村 the rest after the prefecture is ``line1``."""
    text = _name(address)
    if not const.SPLIT_ADDRESS or not text:
        return "", "", text
    state = prefecture_of(text)
    rest = text[len(state) :].strip()
    if not state:
        return "", "", text
    city_match = _CITY.match(rest)
    if city_match is None:
        return state, "", rest
    city = city_match.group(1)
    return state, city, rest[len(city) :].strip()


def _zip(text: str) -> str:
    """``NNN-NNNN`` (Paidy's format [C]); anything else is passed through so Paidy reports it."""
    value = normalize_digits(text)
    found = _ZIP_DIGITS.fullmatch(value)
    return f"{found.group(1)}-{found.group(2)}" if found else value


def shipping_address(order: OrderData) -> tuple[dict[str, str], str]:
    """``shipping_address`` (from the first destination, else the customer) and OUR field path it came
    from (``destinations[0]`` / ``customer``), for error reporting."""
    if order.destinations:
        zip_code, address, source = order.destinations[0].zip_code, order.destinations[0].address, "destinations[0]"
    else:
        zip_code, address, source = order.customer.zip_code, order.customer.address, "customer"
    state, city, line1 = split_address(address)
    wire: dict[str, str] = {}
    for key, value in (("line1", line1), ("city", city), ("state", state), ("zip", _zip(zip_code))):
        if value:
            wire[key] = value
    return wire, source


def _buyer(customer: Customer) -> dict[str, str]:
    buyer = {"name1": _name(customer.name)}
    if customer.name_kana.strip():
        buyer["name2"] = _name(customer.name_kana)
    buyer["email"] = normalize(customer.email)
    buyer["phone"] = normalize_phone(customer.phone)
    return buyer


def _order(order: OrderData) -> dict[str, Any]:
    """``order{items[{id, title, quantity, unit_price}], order_ref}``: discounts are negative prices [C]."""
    return {
        "items": [
            {"id": item.sku, "title": item.name, "quantity": item.quantity, "unit_price": item.unit_price}
            for item in order.items
        ],
        "order_ref": order.shop_transaction_no,
    }


def checkout_payload(order: OrderData, *, store_name: str) -> dict[str, Any]:
    """The Checkout ``launch(payload)`` argument (§2.2): amount, currency, store_name, buyer, order,
    shipping_address (+ description)."""
    payload: dict[str, Any] = {"amount": order.amount, "currency": const.CURRENCY, "store_name": store_name}
    if order.description:
        payload["description"] = order.description
    payload["buyer"] = _buyer(order.customer)
    payload["order"] = _order(order)
    address, _ = shipping_address(order)
    if address:
        payload["shipping_address"] = address
    return payload


def token_payment_body(order: OrderData, token: str, *, store_name: str) -> dict[str, Any]:
    """``POST /payments`` for a token (継続課金): ``token_id`` instead of buyer info [C S8]."""
    body: dict[str, Any] = {
        "token_id": token,
        "amount": order.amount,
        "currency": const.CURRENCY,
        "store_name": store_name,
    }
    if order.description:
        body["description"] = order.description
    body["order"] = _order(order)
    address, _ = shipping_address(order)
    if address:
        body["shipping_address"] = address
    return body


# --------------------------------------------------------------------------- wire → snapshot


def _parse_time(value: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def status_of(payment: Payment, *, now: datetime | None = None) -> ProviderStatus:
    """AUTHORIZED → authorized (expired after ``expires_at``); CLOSED with captures → captured
    (cancelled once refunded in full); CLOSED without captures → cancelled; REJECTED → declined."""
    if payment.status is PaymentStatus.REJECTED:
        return ProviderStatus.DECLINED
    if payment.status is PaymentStatus.CLOSED:
        if not payment.captures:
            return ProviderStatus.CANCELLED
        if payment.captured_amount > 0 and payment.refunded_amount >= payment.captured_amount:
            return ProviderStatus.CANCELLED
        return ProviderStatus.CAPTURED
    expires_at = _parse_time(payment.expires_at)
    if const.EXPIRES_AT_MEANS_EXPIRED and expires_at is not None and expires_at <= (now or datetime.now(UTC)):
        return ProviderStatus.EXPIRED
    return ProviderStatus.AUTHORIZED


def snapshot_from_payment(
    payment: Payment, *, request_id: str = "", buyer_token: str = "", now: datetime | None = None
) -> TransactionSnapshot:
    status = status_of(payment, now=now)
    declined = status is ProviderStatus.DECLINED
    return TransactionSnapshot(
        provider_ref=payment.id,
        status=status,
        amount=payment.amount,
        shop_transaction_no=payment.order_ref,
        captured_amount=payment.captured_amount,
        # Refunds count against captured money only; a close before capture collected nothing.
        refunded_amount=payment.refunded_amount,
        request_id=request_id,
        decline_code=DECLINE_CODE if declined else "",
        decline_message=decline_message() if declined else "",
        buyer_token=buyer_token,
        raw=dict(payment.raw),
    )


# --------------------------------------------------------------------------- webhooks: source IP


def _allowed_networks(value: Any) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    items: list[str]
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(part).strip() for part in value]
    else:
        items = []
    networks = []
    for item in items:
        if item:
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"paidy: invalid webhook IP allowlist entry {item!r}") from None
    return tuple(networks)


def _source_ip(headers: Mapping[str, str]) -> str:
    lowered = {key.lower(): value for key, value in headers.items()}
    for name in const.SOURCE_IP_HEADERS:
        value = lowered.get(name, "").strip()
        if value:
            return value.split(",", 1)[0].strip()
    return ""


# --------------------------------------------------------------------------- the provider

_WEBHOOK_KINDS = ("payment", "authentication")


class PaidyProvider:
    """One Paidy merchant account. ``PaidyProvider(settings)`` — see :class:`ProviderSettings`.

    Credentials: ``public_key`` (Checkout), ``secret_key`` (REST), optional ``logo_url`` and
    ``modal_display``. ``settings.options``: ``store_name``, ``token_checkout`` (bool: the hosted checkout
    asks for a recurring token), ``token_description``, ``webhook_allowed_ips``.
    ``transport`` is for tests (``httpx.MockTransport``).
    """

    code: ClassVar[str] = const.PROVIDER_CODE
    capabilities: ClassVar[Capabilities] = Capabilities(
        browser_checkout=True,  # Paidy Checkout (SMS OTP in the browser), confirmed with GET
        server_authorize=False,  # only with a token: see ``tokens`` / charge_token
        held_state=False,  # authorized or rejected, never held [C]
        capture=True,  # POST /captures
        capture_requires_shipment=False,
        partial_capture=False,  # captures carry no amount [C]
        cancel_after_capture=True,  # a full refund (decision CANCEL_AFTER_CAPTURE_AS_FULL_REFUND)
        refund=True,
        partial_refund=True,  # POST /refunds {capture_id, amount} [C]
        change_amount=False,  # the amount cannot be changed: close and re-create [C/I]
        change_amount_rescreens=False,
        shipment_report=False,  # recorded by the hub only
        tokens=True,  # recurring tokens → 継続課金 [C]
        webhooks=True,  # unsigned: a hint, confirmed by fetch
        enclosed_invoice=False,
        max_amount=const.MAX_AMOUNT,
        min_amount=const.MIN_AMOUNT,
    )

    def __init__(self, settings: ProviderSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        credentials = settings.credentials
        self.public_key = (credentials.get("public_key") or "").strip()
        secret_key = (credentials.get("secret_key") or "").strip()
        if not secret_key:
            raise ProviderAuthError("Paidyのシークレットキーが設定されていません。", code="config:secret_key")
        self._secret_key = secret_key
        self.logo_url = (credentials.get("logo_url") or "").strip()
        self.modal_display = (credentials.get("modal_display") or "").strip()
        self.environment = settings.environment
        options = settings.options
        self.store_name = str(options.get(const.OPTION_STORE_NAME) or const.DEFAULT_STORE_NAME)
        self.token_checkout = bool(options.get(const.OPTION_TOKEN_CHECKOUT, False))
        self.token_description = str(options.get(const.OPTION_TOKEN_DESCRIPTION) or const.DEFAULT_TOKEN_DESCRIPTION)
        self.webhook_networks = _allowed_networks(options.get(const.OPTION_WEBHOOK_ALLOWED_IPS))
        self.script_url = checkout_script_url(settings.environment, settings.base_url)
        self.client = PaidyClient(
            secret_key=secret_key,
            base_url=api_base_url(settings.environment, settings.base_url),
            timeout=settings.timeout,
            transport=transport,
        )

    def __repr__(self) -> str:  # never the keys
        return f"PaidyProvider(environment={self.environment!r}, base_url={self.client.base_url!r})"

    # ----------------------------------------------------------------------- helpers

    @staticmethod
    def _payment(action: str, response: ApiResponse) -> Payment:
        try:
            return Payment.parse(response.data)
        except MalformedResponse as exc:
            raise malformed_response_error(
                action, status=response.status, request_id=response.request_id, detail=str(exc)
            ) from exc

    def _snapshot(self, action: str, response: ApiResponse, *, buyer_token: str = "") -> TransactionSnapshot:
        return snapshot_from_payment(
            self._payment(action, response), request_id=response.request_id, buyer_token=buyer_token
        )

    def _fetch(self, provider_ref: str, action: str) -> tuple[Payment, ApiResponse]:
        response = self.client.get_payment(provider_ref, action=action)
        return self._payment(action, response), response

    @staticmethod
    def _unexpected(action: str, request_id: str, snapshot: TransactionSnapshot) -> ProviderError:
        # A 200 whose payment is not in the state the call promises: never read it as success.
        return ProviderUnavailable(
            f"Paidyの応答の決済状態が想定外です（{snapshot.status.value}）。最新の状態を取得して確認してください。",
            code=f"{action}:unexpected_state",
            request_id=request_id,
            snapshot=snapshot,
        )

    @staticmethod
    def _declined(action: str, snapshot: TransactionSnapshot) -> ProviderDeclined:
        return ProviderDeclined(
            snapshot.decline_message,
            code=f"{action}:{DECLINE_CODE}",
            request_id=snapshot.request_id,
            payload={"status": DECLINE_CODE},
            snapshot=snapshot,
        )

    # ----------------------------------------------------------------------- Provider

    def authorize(self, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        raise UnsupportedOperation(
            "Paidyは購入者がPaidyの決済画面（SMS認証）で承認する必要があるため、注文情報だけでは与信できません。"
            "決済画面をご利用いただくか、保存済みの継続課金トークンで決済してください。",
            code="authorize:unsupported",
        )

    def charge_token(self, token: str, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        """``POST /payments`` with ``token_id`` (継続課金). With ``capture`` the full amount is captured at
        once (POST /captures); if that second call fails, the authorized payment is returned (it exists
        and can be captured later) with the failure noted in ``raw["_kessai_capture_error"]``."""
        token = token.strip()
        if not token:
            message = "Paidyの継続課金トークンが指定されていません。"
            raise ProviderRequestInvalid(
                message,
                code="charge:no_token",
                fields=(FieldError("authentication_token", "token_id", message),),
            )
        _, destination_field = shipping_address(order)
        body = token_payment_body(order, token, store_name=self.store_name)
        try:
            response = self.client.create_payment(body, action="charge", destination_field=destination_field)
        except ProviderRequestInvalid as exc:
            if any(f.field == "authentication_token" for f in exc.fields):
                message = "Paidyの継続課金トークンが利用できません（停止・削除済み、または別の加盟店のトークンです）。"
                exc.message = f"{message}\n{exc.message}"
                exc.args = (exc.message,)
                exc.fields = tuple(FieldError(f.field, f.code, message) for f in exc.fields)
            raise
        snapshot = self._snapshot("charge", response, buyer_token=token)
        if snapshot.status is ProviderStatus.DECLINED:
            raise self._declined("charge", snapshot)
        if snapshot.status is not ProviderStatus.AUTHORIZED:
            raise self._unexpected("charge", response.request_id, snapshot)
        if not capture:
            return snapshot
        try:
            return replace(self.capture(snapshot.provider_ref), buyer_token=token)
        except ProviderError as exc:
            logger.warning(
                "paidy charge %s authorized but capture failed (%s); left authorized", snapshot.provider_ref, exc.code
            )
            return replace(snapshot, raw={**snapshot.raw, "_kessai_capture_error": exc.code})

    def capture(self, provider_ref: str, *, amount: int | None = None) -> TransactionSnapshot:
        """売上確定: ``POST /payments/{id}/captures`` — the whole amount only [C]. A 4xx is confirmed
        with GET: a payment already CLOSED with a capture is answered as captured (idempotent capture)."""
        if amount is not None:
            payment, _ = self._fetch(provider_ref, "capture")
            if amount != payment.amount:
                raise UnsupportedOperation(
                    f"Paidyは一部の売上確定に対応していません（与信額 {payment.amount:,}円、指定額 {amount:,}円）。"
                    "全額を売上確定してから一部返金してください。",
                    code="capture:partial_capture",
                )
        try:
            response = self.client.capture(provider_ref)
        except PaymentNotFound:
            raise
        except ProviderRequestInvalid:
            if not const.CONFIRM_CAPTURE_WITH_FETCH:
                raise
            payment, fetched = self._fetch(provider_ref, "capture")
            snapshot = snapshot_from_payment(payment, request_id=fetched.request_id)
            if payment.captures:
                return snapshot
            raise
        snapshot = self._snapshot("capture", response)
        if snapshot.status is not ProviderStatus.CAPTURED:
            raise self._unexpected("capture", response.request_id, snapshot)
        return snapshot

    def cancel(self, provider_ref: str) -> TransactionSnapshot:
        """取消: ``POST /close`` before capture; after capture a full refund of what is left (decision
        CANCEL_AFTER_CAPTURE_AS_FULL_REFUND). A payment already closed without capture is answered as is."""
        payment, fetched = self._fetch(provider_ref, "cancel")
        status = status_of(payment)
        if status is ProviderStatus.CANCELLED:
            return snapshot_from_payment(payment, request_id=fetched.request_id)
        if status is ProviderStatus.DECLINED:
            raise ProviderRequestInvalid("与信NGのPaidy決済は取消できません。", code="cancel:rejected")
        if status is ProviderStatus.CAPTURED:
            if not const.CANCEL_AFTER_CAPTURE_AS_FULL_REFUND:
                raise UnsupportedOperation(
                    "売上確定済みのPaidy決済は返金で取り消してください。", code="cancel:captured"
                )
            # The amount left, explicitly: "omitted = full" could mean the whole capture after a partial refund.
            body = {"capture_id": payment.captures[-1].id, "amount": payment.refundable}
            response = self.client.refund(provider_ref, body, action="cancel")
        else:  # authorized (or past expires_at: closing is still allowed)
            response = self.client.close(provider_ref)
        snapshot = self._snapshot("cancel", response)
        if snapshot.status is not ProviderStatus.CANCELLED:
            raise self._unexpected("cancel", response.request_id, snapshot)
        return snapshot

    def refund(self, provider_ref: str, *, amount: int, reason: str = "") -> TransactionSnapshot:
        """返金: ``POST /payments/{id}/refunds`` ``{capture_id, amount, reason?}`` — only after capture."""
        if amount < const.MIN_AMOUNT or amount > const.MAX_AMOUNT:
            message = "返金額は1以上の7桁以内の半角数値で設定してください。"
            raise ProviderRequestInvalid(
                message, code="refund:amount", fields=(FieldError("amount", "amount", message),)
            )
        payment, _ = self._fetch(provider_ref, "refund")
        if not payment.captures:
            raise ProviderRequestInvalid(
                "売上確定前のPaidy決済は返金できません。取消（クローズ）してください。", code="refund:not_captured"
            )
        if amount > payment.refundable:
            message = f"返金額が返金可能な金額（{payment.refundable:,}円）を超えています。"
            raise ProviderRequestInvalid(
                message, code="refund:amount_exceeded", fields=(FieldError("amount", "amount", message),)
            )
        body: dict[str, Any] = {"capture_id": payment.captures[-1].id, "amount": amount}
        if reason.strip() or const.SEND_EMPTY_REFUND_REASON:
            body["reason"] = reason.strip()
        response = self.client.refund(provider_ref, body, action="refund")
        snapshot = self._snapshot("refund", response)
        if snapshot.status not in (ProviderStatus.CAPTURED, ProviderStatus.CANCELLED):
            raise self._unexpected("refund", response.request_id, snapshot)
        return snapshot

    def change_amount(self, provider_ref: str, order: OrderData) -> TransactionSnapshot:
        raise UnsupportedOperation(
            "Paidyは決済金額の変更に対応していません。取消（クローズ）して新しい決済を作成するか、"
            "売上確定後に一部返金してください。",
            code="update:unsupported",
        )

    def report_shipment(self, provider_ref: str, shipment: Shipment) -> TransactionSnapshot:
        raise UnsupportedOperation(
            "Paidyには出荷報告がありません。出荷情報はKessaiにのみ記録されます。",
            code="shipment:unsupported",
        )

    def fetch(self, provider_ref: str) -> TransactionSnapshot:
        """``GET /payments/{id}``: the full payment with captures and refunds."""
        response = self.client.get_payment(provider_ref, action="fetch")
        return self._snapshot("fetch", response)

    def update(
        self,
        provider_ref: str,
        *,
        order_ref: str | None = None,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TransactionSnapshot:
        """``PUT /payments/{id}``: only ``order_ref``, ``description`` and ``metadata`` (never the amount)."""
        body: dict[str, Any] = {}
        if order_ref is not None:
            body["order_ref"] = order_ref
        if description is not None:
            body["description"] = description
        if metadata is not None:
            if len(metadata) > const.MAX_METADATA_KEYS:
                raise ProviderRequestInvalid(
                    f"Paidyのメタデータは{const.MAX_METADATA_KEYS}項目以内で設定してください。", code="update:metadata"
                )
            body["metadata"] = dict(metadata)
        response = self.client.update_payment(provider_ref, body)
        return self._snapshot("update", response)

    def parse_webhook(self, kind: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """A payment event (``payment_id`` …) or a token event (``token_id`` …), whatever the URL kind
        (Paidy posts both to the one URL registered in its dashboard).

        Unsigned [C S10]: optionally the source IP is checked against ``webhook_allowed_ips``; the event
        is a hint, the hub confirms it with :meth:`fetch`. A token event becomes an ``authentication``
        event carrying the token only when the token can be charged (activate / resume)."""
        if kind not in _WEBHOOK_KINDS:
            raise ProviderRequestInvalid(f"不明なWebhook種別です: {kind}", code="webhook:kind")
        if self.webhook_networks:
            source = _source_ip(headers)
            try:
                allowed = bool(source) and any(ipaddress.ip_address(source) in n for n in self.webhook_networks)
            except ValueError:
                allowed = False
            if not allowed:
                raise ProviderAuthError(
                    "許可されていない送信元からのPaidy通知です。", code="webhook:source_ip", payload={"source": source}
                )
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise ProviderRequestInvalid("WebhookのJSONの形式が不正です。", code="webhook:json") from exc
        if not isinstance(data, dict):
            raise ProviderRequestInvalid("Webhookの本文がJSONオブジェクトではありません。", code="webhook:json")
        if "token_id" in data and "payment_id" not in data:
            try:
                token_event = TokenEvent.parse(data)
            except MalformedResponse as exc:
                raise ProviderRequestInvalid(
                    f"Paidyのトークン通知を解釈できません（{exc}）。", code="webhook:token"
                ) from exc
            key = f"token\n{token_event.token_id}\n{token_event.status}\n{token_event.timestamp}"
            usable = token_event.status in const.TOKEN_USABLE_EVENTS
            return WebhookEvent(
                kind="authentication",
                buyer_token=token_event.token_id if usable else "",
                dedup_key=self._dedup(key, token_event.timestamp, body),
                payload=data,
            )
        try:
            event = PaymentEvent.parse(data)
        except MalformedResponse as exc:
            raise ProviderRequestInvalid(f"Paidyの決済通知を解釈できません（{exc}）。", code="webhook:payment") from exc
        if event.payment_id == const.TEST_NOTIFICATION_PAYMENT_ID:
            raise ProviderRequestInvalid(
                "Paidyのテスト通知を受信しました（該当する決済はありません）。通知URLの設定は正しく動作しています。",
                code="webhook:test_notification",
            )
        key = f"payment\n{event.payment_id}\n{event.status}\n{event.capture_id}\n{event.timestamp}"
        return WebhookEvent(
            kind="payment",
            provider_ref=event.payment_id,
            dedup_key=self._dedup(key, event.timestamp, body),
            payload=data,
        )

    @staticmethod
    def _dedup(key: str, timestamp: str, body: bytes) -> str:
        # Without a timestamp two distinct events could share the semantic key: fall back to the bytes.
        material = key.encode("utf-8") if timestamp else key.encode("utf-8") + b"\n" + body
        return hashlib.sha256(material).hexdigest()

    def checkout_config(self, order: OrderData, *, capture: bool, pre_token: str = "") -> CheckoutConfig:
        """What the page needs for ``Paidy.configure({api_key, logo_url, closed}).launch(payload)``:
        ``api_key`` (public key), ``payload`` (amount, buyer, order, shipping_address …), ``logo_url`` when
        set, ``token`` for a recurring-token checkout, ``capture`` (the hub captures after confirming).
        The ``closed`` callback receives ``{id, amount, currency, created_at, status}``; the hub then
        confirms ``id`` with :meth:`fetch`. ``pre_token`` (atone) has no Paidy equivalent."""
        if not self.public_key:
            raise ProviderAuthError("Paidyのパブリックキーが設定されていません。", code="checkout:public_key")
        widget: dict[str, Any] = {
            "api_key": self.public_key,
            "payload": checkout_payload(order, store_name=self.store_name),
            "capture": capture,
        }
        if self.logo_url:
            widget["logo_url"] = self.logo_url
        if self.modal_display:
            widget["modal_display"] = self.modal_display
        if self.token_checkout:
            widget["token"] = {
                "wallet_id": const.DEFAULT_WALLET_ID,
                "type": const.TOKEN_CHECKOUT_TYPE,
                "description": self.token_description,
            }
        return CheckoutConfig(script_url=self.script_url, widget=widget)

    def test_connection(self) -> ConnectionCheck:
        """接続テスト: ``GET /payments/pay_0000000000000000`` (an id that cannot exist): 404 → the secret
        key was accepted; 401 → it was not. Also warns about a test key on a production account."""
        if not self.public_key:
            return ConnectionCheck(False, "Paidyのパブリックキーが設定されていません。")
        keys = (self.public_key, self._secret_key)
        if self.environment == "production" and any(const.TEST_KEY_MARKER in k for k in keys):
            return ConnectionCheck(
                False, "本番環境のアカウントにテスト用のキー（pk_test_/sk_test_）が設定されています。"
            )
        if self.environment == "test" and any(const.LIVE_KEY_MARKER in k for k in keys):
            return ConnectionCheck(
                False, "テスト環境のアカウントに本番用のキー（pk_live_/sk_live_）が設定されています。"
            )
        try:
            self.client.get_payment(const.CONNECTION_TEST_PAYMENT_ID, action="test")
        except ProviderAuthError as exc:
            return ConnectionCheck(False, f"認証に失敗しました。シークレットキーを確認してください。（{exc.code}）")
        except ProviderRequestInvalid:
            pass  # authenticated and answered (404 for the made-up id): the key works
        except ProviderError as exc:
            return ConnectionCheck(
                False, f"Paidyに接続できませんでした。時間を空けて再度お試しください。（{exc.code}）"
            )
        return ConnectionCheck(
            True,
            "Paidyへの接続に成功しました。シークレットキーは有効です。"
            "（パブリックキーは決済画面の表示時にPaidyが確認します。）",
        )

    # ----------------------------------------------------------------------- tokens (継続課金)

    def _token(self, action: str, response: ApiResponse) -> Token:
        try:
            return Token.parse(response.data)
        except MalformedResponse as exc:
            raise malformed_response_error(
                action, status=response.status, request_id=response.request_id, detail=str(exc)
            ) from exc

    def list_tokens(self) -> tuple[Token, ...]:
        """``GET /tokens``."""
        response = self.client.list_tokens()
        try:
            return parse_token_list(response.data)
        except MalformedResponse as exc:
            raise malformed_response_error(
                "tokens", status=response.status, request_id=response.request_id, detail=str(exc)
            ) from exc

    def get_token(self, token_id: str) -> Token:
        """``GET /tokens/{id}``."""
        return self._token("token", self.client.get_token(token_id))

    def suspend_token(self, token_id: str, *, reason: str, description: str, wallet_id: str = "") -> Token:
        """``POST /tokens/{id}/suspend`` (継続課金の停止). Only the suspending party can resume."""
        return self._token_action(token_id, "suspend", reason, description, wallet_id, const.SUSPEND_REASONS)

    def resume_token(self, token_id: str, *, reason: str, description: str, wallet_id: str = "") -> Token:
        """``POST /tokens/{id}/resume``."""
        return self._token_action(token_id, "resume", reason, description, wallet_id, const.SUSPEND_REASONS)

    def delete_token(self, token_id: str, *, reason: str, description: str, wallet_id: str = "") -> Token:
        """``POST /tokens/{id}/delete`` (``subscription.expired`` is allowed here too)."""
        return self._token_action(token_id, "delete", reason, description, wallet_id, const.DELETE_REASONS)

    def _token_action(
        self, token_id: str, verb: str, reason: str, description: str, wallet_id: str, allowed: frozenset[str]
    ) -> Token:
        action = f"token_{verb}"
        if reason not in allowed:
            raise ProviderRequestInvalid(
                f"Paidyのトークン操作の理由コードが不正です: {reason}（{', '.join(sorted(allowed))}）",
                code=f"{action}:reason",
            )
        if not description.strip():
            raise ProviderRequestInvalid("Paidyのトークン操作の理由を入力してください。", code=f"{action}:description")
        body: dict[str, Any] = {"reason": {"code": reason, "description": description.strip()}}
        if wallet_id:
            body["wallet_id"] = wallet_id
        return self._token(action, self.client.token_action(token_id, verb, body, action=action))
