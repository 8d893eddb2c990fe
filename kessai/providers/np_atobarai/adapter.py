"""The NP後払い adapter: :class:`NpAtobaraiProvider` implements :class:`kessai.providers.base.Provider`.

NP後払い (Net Protections) screens server-side from the order data (取引登録), bills on the shipment report
(出荷報告 = capture), and answers every call synchronously — with 保留 (10) and 審査中 (40) as answers that
are resolved later. See docs/providers/np-atobarai.md and the protocol note
``/work/shared/providers/np-atobarai.md``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
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
from kessai.providers.np_atobarai import const
from kessai.providers.np_atobarai.api_types import (
    AuthoriResult,
    BatchResponse,
    MalformedResponse,
    PaymentStatus,
    Screening,
    SettlementType,
)
from kessai.providers.np_atobarai.client import NpAtobaraiClient
from kessai.providers.np_atobarai.errors import (
    decline_message,
    error_from_codes,
    hold_message,
    malformed_response_error,
    review_message,
)

__all__ = [
    "JST",
    "NpAtobaraiProvider",
    "ShipmentOutcome",
    "api_base_url",
    "check_order",
    "normalize_phone",
    "register_item",
    "reregister_item",
    "shipment_item",
    "snapshot_from_screening",
    "status_of",
    "to_full_width",
]

JST = timezone(timedelta(hours=9), "JST")

# --------------------------------------------------------------------------- URLs


def api_base_url(environment: str, base_url: str | None) -> str:
    """The REST root: the official host of the environment, or the (hub-vetted) sandbox override."""
    if environment not in const.API_BASE_URLS:
        raise ValueError(f"np_atobarai: unknown environment {environment!r}")
    official = const.API_BASE_URLS[environment]
    if not base_url:
        return official
    url = base_url if base_url.endswith("/") else base_url + "/"
    # Defence in depth for invariant 6 (the hub already refuses this): production codes only ever go to
    # the official host.
    if environment == "production" and url != official:
        raise ValueError("np_atobarai: a base-URL override is not allowed for production accounts")
    return url


# --------------------------------------------------------------------------- OrderData → wire

_HALF_WIDTH_KANA = re.compile(r"[\uFF61-\uFF9F]+")
_PHONE_NOISE = re.compile(r"[\s\-‐‑‒–—―−ー()（）]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def to_full_width(text: str) -> str:
    """Name fields are counted in full-width characters [C S1]: half-width katakana are widened (NFKC of
    those runs only) and the space becomes U+3000 (family + 「　」 + given [C S1,S2]). ASCII is kept."""
    text = _HALF_WIDTH_KANA.sub(lambda m: unicodedata.normalize("NFKC", m.group(0)), text.strip())
    return re.sub(r"[ \u3000]+", const.NAME_SEPARATOR, text)


def normalize_phone(phone: str) -> str:
    """Half-width digits only, ``+81`` → ``0`` [C S1,S2]. Text that is not a number is passed through so
    that NP's own check (E0100064/65 → ``customer.phone``) reports it."""
    text = unicodedata.normalize("NFKC", phone).strip()
    if not text:
        return ""
    digits = _PHONE_NOISE.sub("", text)
    if digits.startswith("+81"):
        digits = "0" + digits[3:].lstrip("0")
    if digits.isascii() and digits.isdigit():
        return digits
    return text


def _put(target: dict[str, Any], key: str, value: str) -> None:
    if value:
        target[key] = value


def _customer(customer: Customer) -> dict[str, Any]:
    wire: dict[str, Any] = {"customer_name": to_full_width(customer.name)}
    _put(wire, "customer_name_kana", to_full_width(customer.name_kana))
    _put(wire, "company_name", customer.company.strip())
    wire["zip_code"] = unicodedata.normalize("NFKC", customer.zip_code).strip()
    wire["address"] = customer.address.strip()
    wire["tel"] = normalize_phone(customer.phone)
    wire["email"] = unicodedata.normalize("NFKC", customer.email).strip()
    return wire


def _dest_customer(dest: Destination) -> dict[str, Any]:
    wire: dict[str, Any] = {"customer_name": to_full_width(dest.name)}
    _put(wire, "customer_name_kana", to_full_width(dest.name_kana))
    _put(wire, "company_name", dest.company.strip())
    wire["zip_code"] = unicodedata.normalize("NFKC", dest.zip_code).strip()
    wire["address"] = dest.address.strip()
    wire["tel"] = normalize_phone(dest.phone)
    return wire


def _goods(items: Sequence[LineItem]) -> list[dict[str, Any]]:
    return [{"goods_name": i.name, "goods_price": i.unit_price, "quantity": i.quantity} for i in items]


def _invalid(action: str, code: str, field: str, message: str) -> ProviderRequestInvalid:
    return ProviderRequestInvalid(message, code=f"{action}:{code}", fields=(FieldError(field, code, message),))


def check_order(order: OrderData, action: str) -> None:
    """What NP requires of an order that the hub can check before sending it [C S1,S2] — so the message
    names our field. NP checks the buyer and destination fields itself (E0100048…)."""
    if order.amount < const.MIN_AMOUNT:
        raise _invalid(action, "amount", "amount", "請求金額は1円以上で指定してください。")
    if not order.items:
        raise _invalid(action, "goods", "items", "商品明細を1件以上指定してください。")
    total = sum(item.subtotal for item in order.items)
    if total != order.amount:
        raise _invalid(
            action,
            "billed_amount",
            "amount",
            f"請求金額({order.amount:,}円)が明細の合計({total:,}円)と一致しません(NP後払いでは一致が必要です)。",
        )
    if not 1 <= len(order.shop_transaction_no) <= const.SHOP_TRANSACTION_ID_MAX:
        raise _invalid(
            action,
            "shop_transaction_id",
            "shop_transaction_no",
            f"NP後払いの加盟店取引IDは{const.SHOP_TRANSACTION_ID_MAX}文字以内で指定してください。",
        )
    if len(order.destinations) > const.MAX_DESTINATIONS:
        raise _invalid(action, "dest_customer", "destinations", "NP後払いでは配送先を1件までしか指定できません。")


def register_item(order: OrderData, *, settlement_type: SettlementType, today: date) -> dict[str, Any]:
    """The register / update item (§1.3) for an order."""
    item: dict[str, Any] = {
        "shop_transaction_id": order.shop_transaction_no,
        "shop_order_date": order.ordered_at if _ISO_DATE.fullmatch(order.ordered_at) else today.isoformat(),
        "settlement_type": settlement_type.value,
        "billed_amount": order.amount,
        "customer": _customer(order.customer),
    }
    if order.destinations:
        item["dest_customer"] = _dest_customer(order.destinations[0])
    elif not const.OMIT_EMPTY_DEST_CUSTOMER:  # pragma: no cover - the other reading of the note
        item["dest_customer"] = {}
    item["goods"] = _goods(order.items)
    return item


def reregister_item(base_ref: str, order: OrderData, *, today: date) -> dict[str, Any]:
    """The re-register item (§1.2): base id, our id, order date, new amount and lines."""
    return {
        "base_np_transaction_id": base_ref,
        "shop_transaction_id": order.shop_transaction_no,
        "shop_order_date": order.ordered_at if _ISO_DATE.fullmatch(order.ordered_at) else today.isoformat(),
        "billed_amount": order.amount,
        "goods": _goods(order.items),
    }


def shipment_item(provider_ref: str, shipment: Shipment, *, enclosed: bool, today: date) -> dict[str, Any]:
    """``{np_transaction_id, pd_company_code, slip_no, bill_issued_date?}`` from our carrier vocabulary.

    Refuses (:class:`ProviderRequestInvalid`, nothing sent) a carrier that is not in the vocabulary or
    has no NP code, a slip number that breaks its carrier's rule or NP's 20-character limit, and a
    shipment date that is not ``YYYY-MM-DD``."""
    found = carriers.resolve(shipment.carrier)
    if found is None:
        raise _invalid("shipment", "carrier", "carrier", "配送会社を選択してください。")
    np_code = const.CARRIER_CODES.get(found.code)
    if np_code is None:
        raise _invalid(
            "shipment",
            "carrier",
            "carrier",
            f"NP後払いでは配送会社「{found.name}」を指定できません。NP後払いが対応する配送会社を選択してください。",
        )
    try:
        slip = carriers.validate_slip(found.code, shipment.tracking_no)
    except carriers.InvalidSlip as exc:
        raise _invalid("shipment", "slip_no", "tracking_no", exc.message) from None
    if len(slip) > const.SLIP_NO_MAX:
        raise _invalid(
            "shipment", "slip_no", "tracking_no", f"NP後払いの伝票番号は{const.SLIP_NO_MAX}文字以内で入力してください。"
        )
    item: dict[str, Any] = {"np_transaction_id": provider_ref, "pd_company_code": np_code, "slip_no": slip}
    if enclosed:
        shipped_on = shipment.shipped_on.strip()
        if shipped_on and not _ISO_DATE.fullmatch(shipped_on):
            raise _invalid("shipment", "bill_issued_date", "shipped_on", "出荷日はYYYY-MM-DD形式で指定してください。")
        item["bill_issued_date"] = shipped_on or today.isoformat()
    return item


# --------------------------------------------------------------------------- wire → snapshot

_STATUS: Mapping[AuthoriResult, ProviderStatus] = {
    AuthoriResult.OK: ProviderStatus.AUTHORIZED,
    AuthoriResult.HOLD: ProviderStatus.PENDING_REVIEW,
    AuthoriResult.REVIEW: ProviderStatus.PENDING_REVIEW,
    AuthoriResult.NG: ProviderStatus.DECLINED,
}


def status_of(screening: Screening) -> ProviderStatus:
    """00 → AUTHORIZED; 10 保留 and 40 審査中 → PENDING_REVIEW; 20 → DECLINED (§1.4, README §7.3)."""
    return _STATUS[screening.authori_result]


def snapshot_from_screening(
    screening: Screening,
    *,
    amount: int,
    shop_transaction_no: str = "",
    request_id: str = "",
    superseded_refs: tuple[str, ...] = (),
    amounts_reported: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> TransactionSnapshot:
    status = status_of(screening)
    review = ""
    if screening.authori_result is AuthoriResult.HOLD:
        review = hold_message(screening.authori_hold)
    elif screening.authori_result is AuthoriResult.REVIEW:
        review = review_message()
    declined = status is ProviderStatus.DECLINED
    raw: dict[str, Any] = {**screening.raw, **(extra or {}), "_kessai_request_id": request_id}
    if not amounts_reported:
        raw[const.AMOUNTS_REPORTED_KEY] = False
    return TransactionSnapshot(
        provider_ref=screening.np_transaction_id,
        status=status,
        amount=amount,
        shop_transaction_no=screening.shop_transaction_id or shop_transaction_no,
        request_id=request_id,
        decline_code=screening.authori_ng if declined else "",
        decline_message=decline_message(screening.authori_ng) if declined else "",
        review_reason=review,
        superseded_refs=superseded_refs,
        raw=raw,
    )


def _outcome(action: str, snapshot: TransactionSnapshot) -> TransactionSnapshot:
    """保留/審査中 → :class:`ProviderPending`, NG → :class:`ProviderDeclined`, both carrying the snapshot."""
    if snapshot.status is ProviderStatus.PENDING_REVIEW:
        result = str(snapshot.raw.get("authori_result", ""))
        holds = snapshot.raw.get("authori_hold") or []
        reason = ",".join(str(h) for h in holds) if result == const.AUTHORI_HOLD and holds else result
        raise ProviderPending(
            snapshot.review_reason,
            code=f"{action}:{reason}",
            request_id=snapshot.request_id,
            payload={"authori_result": result, "authori_hold": list(holds)},
            snapshot=snapshot,
        )
    if snapshot.status is ProviderStatus.DECLINED:
        raise ProviderDeclined(
            snapshot.decline_message,
            code=f"{action}:{snapshot.decline_code or const.AUTHORI_NG}",
            request_id=snapshot.request_id,
            payload={"authori_result": const.AUTHORI_NG, "authori_ng": snapshot.decline_code},
            snapshot=snapshot,
        )
    return snapshot


def _status_only(
    provider_ref: str, status: ProviderStatus, request_id: str, *, shipped: bool = False, **extra: Any
) -> TransactionSnapshot:
    """A snapshot from an answer that carries no amounts (cancel, shipments, the find endpoints)."""
    return TransactionSnapshot(
        provider_ref=provider_ref,
        status=status,
        amount=0,
        request_id=request_id,
        shipment_reported=shipped,
        raw={**extra, "_kessai_request_id": request_id, const.AMOUNTS_REPORTED_KEY: False},
    )


ShipmentOutcome = TransactionSnapshot | ProviderError


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes", "有効", "する"}
    return bool(value)


def _today_jst() -> date:
    return datetime.now(JST).date()


class NpAtobaraiProvider:
    """One NP後払い merchant account (加盟店コード, SPコード, 端末ID)."""

    code: ClassVar[str] = const.PROVIDER_CODE
    capabilities: ClassVar[Capabilities] = Capabilities(
        browser_checkout=False,  # no widget: screening is server-side from the order data
        server_authorize=True,  # POST /transactions
        held_state=True,  # 10 保留 (RE codes) and 40 審査中
        capture=True,  # 売上確定 exists …
        capture_requires_shipment=True,  # … and is the shipment report (POST /shipments)
        partial_capture=False,
        cancel_after_capture=True,  # /transactions/cancel until the buyer pays (E0100114)
        refund=False,  # no refund call: full = cancel, partial = change_amount (re-register after shipment)
        partial_refund=False,
        change_amount=True,  # /transactions/update; after shipment /transactions/reregister (new id)
        change_amount_rescreens=True,  # both answer a fresh authori_result
        shipment_report=True,
        tokens=False,  # no buyer tokens, no recurring charges
        webhooks=False,  # none: status is pulled with the find endpoints
        enclosed_invoice=True,  # settlement_type 03 + bill_issued_date
        max_amount=const.MAX_AMOUNT,
        min_amount=const.MIN_AMOUNT,
    )

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        today: Callable[[], date] | None = None,
    ) -> None:
        credentials = settings.credentials
        merchant_code = (credentials.get("merchant_code") or "").strip()
        sp_code = (credentials.get("sp_code") or "").strip()
        terminal_id = (credentials.get("terminal_id") or "").strip()
        for key, value, label in (
            ("merchant_code", merchant_code, "加盟店コード"),
            ("sp_code", sp_code, "SPコード"),
            ("terminal_id", terminal_id, "端末ID"),
        ):
            if not value:
                raise ProviderAuthError(f"NP後払いの{label}が設定されていません。", code=f"config:{key}")
        self.environment = settings.environment
        self.enclosed_invoice = _truthy(settings.options.get(const.OPTION_ENCLOSED_INVOICE, False))
        self._today = today or _today_jst
        self.client = NpAtobaraiClient(
            merchant_code=merchant_code,
            sp_code=sp_code,
            terminal_id=terminal_id,
            base_url=api_base_url(settings.environment, settings.base_url),
            timeout=settings.timeout,
            transport=transport,
        )

    def __repr__(self) -> str:  # never the codes
        return f"NpAtobaraiProvider(environment={self.environment!r}, base_url={self.client.base_url!r})"

    @property
    def settlement_type(self) -> SettlementType:
        return SettlementType.ENCLOSED if self.enclosed_invoice else SettlementType.SEPARATE

    # ----------------------------------------------------------------------- helpers

    @staticmethod
    def _screening(action: str, result: Mapping[str, Any], batch: BatchResponse) -> Screening:
        try:
            return Screening.parse(result)
        except MalformedResponse as exc:
            raise malformed_response_error(
                action, status=batch.status, request_id=batch.request_id, detail=str(exc)
            ) from exc

    def _find_screening(self, provider_ref: str, action: str) -> tuple[Screening, BatchResponse]:
        item = {const.AUTHORIZATION_FIND_ID_FIELD: provider_ref}
        result, batch = self.client.call_one(
            action, "POST", const.PATH_AUTHORIZATIONS_FIND, item, id_field="np_transaction_id", target_id=provider_ref
        )
        return self._screening(action, result, batch), batch

    def _paid(self, provider_ref: str, action: str) -> bool:
        """支払状況: only "20" (paid) proves anything; an error here is read as "not known" (never as paid)."""
        try:
            result, batch = self.client.call_one(
                action,
                "POST",
                const.PATH_PAYMENTS_FIND,
                {"np_transaction_id": provider_ref},
                id_field="np_transaction_id",
                target_id=provider_ref,
            )
        except ProviderRequestInvalid:
            return False
        try:
            status = PaymentStatus.parse(result)
        except MalformedResponse as exc:
            raise malformed_response_error(
                action, status=batch.status, request_id=batch.request_id, detail=str(exc)
            ) from exc
        return status.payment_status in const.SHIPPED_PAYMENT_STATUSES

    # ----------------------------------------------------------------------- Provider

    def authorize(self, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        """取引登録 (``POST /transactions``). ``capture`` is ignored: NP bills on the shipment report.
        00 → the snapshot; 10/40 → :class:`ProviderPending`; 20 → :class:`ProviderDeclined` (with it)."""
        check_order(order, "register")
        item = register_item(order, settlement_type=self.settlement_type, today=self._today())
        result, batch = self.client.call_one(
            "register",
            "POST",
            const.PATH_REGISTER,
            item,
            id_field="shop_transaction_id",
            target_id=order.shop_transaction_no,
        )
        screening = self._screening("register", result, batch)
        snapshot = snapshot_from_screening(
            screening, amount=order.amount, shop_transaction_no=order.shop_transaction_no, request_id=batch.request_id
        )
        return _outcome("register", snapshot)

    def charge_token(self, token: str, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        raise UnsupportedOperation(
            "NP後払いには購入者トークン(継続課金)がありません。注文ごとに与信してください。", code="charge:unsupported"
        )

    def capture(self, provider_ref: str, *, amount: int | None = None) -> TransactionSnapshot:
        raise UnsupportedOperation(
            "NP後払いの売上確定は出荷報告です。配送会社と伝票番号を指定して出荷報告(伝票番号同期)してください。",
            code="capture:use_shipment",
        )

    def cancel(self, provider_ref: str) -> TransactionSnapshot:
        """取引キャンセル (``PATCH /transactions/cancel``): before shipment, or after it until the buyer pays
        (E0100114). A transaction that is already cancelled (E0100118) is the end state asked for: done."""
        item = {"np_transaction_id": provider_ref}
        try:
            _, batch = self.client.call_one(
                "cancel", "PATCH", const.PATH_CANCEL, item, id_field="np_transaction_id", target_id=provider_ref
            )
        except ProviderRequestInvalid as exc:
            if not (const.CANCEL_ALREADY_DONE_IS_SUCCESS and exc.code == f"cancel:{const.ALREADY_CANCELLED_CODE}"):
                raise
            return _status_only(
                provider_ref, ProviderStatus.CANCELLED, exc.request_id, already=const.ALREADY_CANCELLED_CODE
            )
        return _status_only(provider_ref, ProviderStatus.CANCELLED, batch.request_id)

    def change_amount(self, provider_ref: str, order: OrderData) -> TransactionSnapshot:
        """取引変更 (``PATCH /transactions/update`` with the full item): re-screened. Once the shipment is
        reported NP refuses it (E0100115); the change is then a re-registration
        (``POST /transactions/reregister``): a NEW transaction id (``superseded_refs=(old,)``), screened
        again, which needs its own shipment report. 10/40 → :class:`ProviderPending`, 20 →
        :class:`ProviderDeclined`, both with the snapshot."""
        check_order(order, "update")
        item = {
            "np_transaction_id": provider_ref,
            **register_item(order, settlement_type=self.settlement_type, today=self._today()),
        }
        try:
            result, batch = self.client.call_one(
                "update", "PATCH", const.PATH_UPDATE, item, id_field="np_transaction_id", target_id=provider_ref
            )
        except ProviderRequestInvalid as exc:
            if exc.code != f"update:{const.ALREADY_SHIPPED_CODE}":
                raise
            return self._reregister(provider_ref, order)
        screening = self._screening("update", result, batch)
        snapshot = snapshot_from_screening(
            screening, amount=order.amount, shop_transaction_no=order.shop_transaction_no, request_id=batch.request_id
        )
        return _outcome("update", snapshot)

    def _reregister(self, provider_ref: str, order: OrderData) -> TransactionSnapshot:
        item = reregister_item(provider_ref, order, today=self._today())
        result, batch = self.client.call_one(
            "reregister",
            "POST",
            const.PATH_REREGISTER,
            item,
            id_field="base_np_transaction_id",
            target_id=provider_ref,
        )
        screening = self._screening("reregister", result, batch)
        if screening.np_transaction_id == provider_ref:
            raise malformed_response_error(
                "reregister", status=batch.status, request_id=batch.request_id, detail="no new np_transaction_id"
            )
        snapshot = snapshot_from_screening(
            screening,
            amount=order.amount,
            shop_transaction_no=order.shop_transaction_no,
            request_id=batch.request_id,
            superseded_refs=(provider_ref,),
            extra={"reregistered_from": provider_ref},
        )
        return _outcome("reregister", snapshot)

    def report_shipment(self, provider_ref: str, shipment: Shipment) -> TransactionSnapshot:
        """出荷報告 (``POST /shipments``) = capture: our carrier code mapped to ``pd_company_code``, the slip
        number checked against its carrier's rule, ``bill_issued_date`` when the invoice is enclosed (同梱).
        An already-reported shipment (E0100115) is done: the current snapshot is returned."""
        item = shipment_item(provider_ref, shipment, enclosed=self.enclosed_invoice, today=self._today())
        try:
            _, batch = self.client.call_one(
                "shipment", "POST", const.PATH_SHIPMENTS, item, id_field="np_transaction_id", target_id=provider_ref
            )
        except ProviderRequestInvalid as exc:
            if exc.code != f"shipment:{const.ALREADY_SHIPPED_CODE}":
                raise
            return self._already_shipped(provider_ref)
        return _status_only(
            provider_ref,
            ProviderStatus.CAPTURED,
            batch.request_id,
            shipped=True,
            pd_company_code=item["pd_company_code"],
            slip_no=item["slip_no"],
        )

    def _already_shipped(self, provider_ref: str) -> TransactionSnapshot:
        current = self.fetch(provider_ref)
        if current.status in (ProviderStatus.AUTHORIZED, ProviderStatus.CAPTURED):
            return replace(
                current,
                status=ProviderStatus.CAPTURED,
                shipment_reported=True,
                raw={**current.raw, "already_reported": const.ALREADY_SHIPPED_CODE},
            )
        return current

    def report_shipments(self, shipments: Sequence[tuple[str, Shipment]]) -> list[ShipmentOutcome]:
        """伝票番号同期 for many transactions in envelopes of ≤1,000 items. One outcome per input, in order:
        the snapshot, or the error for that item (a local refusal, or NP's codes). E0100115 counts as done.
        Transport failures raise (the whole envelope's outcome is unknown)."""
        outcomes: list[ShipmentOutcome | None] = [None] * len(shipments)
        pending: list[tuple[int, dict[str, Any]]] = []
        today = self._today()
        for index, (ref, shipment) in enumerate(shipments):
            try:
                pending.append((index, shipment_item(ref, shipment, enclosed=self.enclosed_invoice, today=today)))
            except ProviderRequestInvalid as exc:
                outcomes[index] = exc
        for start in range(0, len(pending), const.MAX_BATCH_ITEMS):
            part = pending[start : start + const.MAX_BATCH_ITEMS]
            batch = self.client.call("shipment", "POST", const.PATH_SHIPMENTS, [item for _, item in part])
            for index, item in part:
                ref = str(item["np_transaction_id"])
                codes = batch.errors_for(ref)
                if codes and set(codes) == {const.ALREADY_SHIPPED_CODE}:
                    outcomes[index] = _status_only(
                        ref, ProviderStatus.CAPTURED, batch.request_id, shipped=True, already=codes[0]
                    )
                elif codes:
                    outcomes[index] = error_from_codes(
                        "shipment", codes, status=batch.status, body=batch.body, request_id=batch.request_id
                    )
                elif batch.result_for("np_transaction_id", ref) is not None:
                    outcomes[index] = _status_only(ref, ProviderStatus.CAPTURED, batch.request_id, shipped=True)
                else:
                    outcomes[index] = malformed_response_error(
                        "shipment", status=batch.status, request_id=batch.request_id, detail=f"no answer for {ref}"
                    )
        return [outcome for outcome in outcomes if outcome is not None]

    def refund(self, provider_ref: str, *, amount: int, reason: str = "") -> TransactionSnapshot:
        raise UnsupportedOperation(
            "NP後払いには返金の操作がありません。全額は取消(購入者のお支払い前まで)、"
            "一部は金額変更(出荷報告後は一部返品再登録)で行ってください。",
            code="refund:unsupported",
        )

    def fetch(self, provider_ref: str) -> TransactionSnapshot:
        """与信結果確認: ``POST /authorizations/find`` (10/40 → PENDING_REVIEW with the Japanese reason, 20 →
        DECLINED, E0100118 → CANCELLED), then for 00 ``POST /transactions/payments/find`` (paid → CAPTURED).
        NP reports no amounts here: the snapshot says so (``const.AMOUNTS_REPORTED_KEY``)."""
        try:
            screening, batch = self._find_screening(provider_ref, "fetch")
        except ProviderRequestInvalid as exc:
            if exc.code != f"fetch:{const.FIND_CANCELLED_CODE}":
                raise
            return _status_only(provider_ref, ProviderStatus.CANCELLED, exc.request_id, found=const.FIND_CANCELLED_CODE)
        snapshot = snapshot_from_screening(screening, amount=0, request_id=batch.request_id, amounts_reported=False)
        if snapshot.status is ProviderStatus.AUTHORIZED and self._paid(provider_ref, "fetch"):
            return replace(
                snapshot,
                status=ProviderStatus.CAPTURED,
                shipment_reported=True,
                raw={**snapshot.raw, "payment_status": const.PAYMENT_STATUS_PAID},
            )
        return snapshot

    def parse_webhook(self, kind: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        raise UnsupportedOperation(
            "NP後払いにはWebhook(通知)がありません。与信結果確認で状態を取得してください。", code="webhook:unsupported"
        )

    def checkout_config(self, order: OrderData, *, capture: bool, pre_token: str = "") -> CheckoutConfig:
        raise UnsupportedOperation(
            "NP後払いには決済画面(ウィジェット)がありません。注文情報で与信してください。", code="checkout:unsupported"
        )

    def test_connection(self) -> ConnectionCheck:
        """接続テスト: ``POST /authorizations/find`` with an empty envelope. 400 (EPRO0101, or any other
        envelope error) → the codes were accepted; 401/403 → they were not; anything else → unavailable."""
        try:
            self.client.probe()
        except ProviderAuthError as exc:
            return ConnectionCheck(
                False, f"認証に失敗しました。加盟店コード・SPコード・端末IDを確認してください。({exc.code})"
            )
        except ProviderError as exc:
            return ConnectionCheck(
                False, f"NP後払いに接続できませんでした。時間を空けて再度お試しください。({exc.code})"
            )
        return ConnectionCheck(True, "NP後払いへの接続に成功しました。加盟店コード・SPコード・端末IDは有効です。")
