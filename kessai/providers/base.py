"""The provider SDK contract: what every payment provider adapter implements.

Pure Python (no Django). Services talk to providers only through :class:`Provider`; adapters
know nothing of the database, services know nothing of wire formats.

Money is ``int`` yen (tax included) everywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

Environment = Literal["test", "production"]


# --------------------------------------------------------------------------- capabilities


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do. The UI and API show only what is declared here."""

    browser_checkout: bool = False  # the buyer authorizes in a provider widget/redirect
    server_authorize: bool = False  # we can authorize server-side (with order data or a token)
    held_state: bool = False  # 与信保留 / 審査中 exists
    capture: bool = True  # a separate capture (売上確定) exists
    capture_requires_shipment: bool = False  # capture = 出荷報告 (NP後払い, GMO後払い)
    partial_capture: bool = False
    cancel_after_capture: bool = True
    refund: bool = False
    partial_refund: bool = False
    change_amount: bool = False  # 金額変更 / 取引修正
    change_amount_rescreens: bool = False  # an amount change re-screens the buyer (may become NG)
    shipment_report: bool = False  # 出荷報告 exists at all
    tokens: bool = False  # stored buyer tokens → recurring charges (継続課金)
    webhooks: bool = False  # the provider pushes notifications
    enclosed_invoice: bool = False  # 同梱 invoice (請求書ダウンロード)
    max_amount: int = 9_999_999
    min_amount: int = 1


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class LineItem:
    sku: str
    name: str
    unit_price: int  # yen incl. tax; negative for discounts
    quantity: int

    @property
    def subtotal(self) -> int:
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Customer:
    name: str
    name_kana: str = ""
    email: str = ""
    phone: str = ""
    zip_code: str = ""
    address: str = ""
    company: str = ""


@dataclass(frozen=True)
class Destination:
    name: str
    zip_code: str
    address: str
    phone: str = ""
    name_kana: str = ""
    company: str = ""


@dataclass(frozen=True)
class OrderData:
    """Everything a provider may need to screen and bill one order."""

    shop_transaction_no: str  # our key at the provider: unique per account
    amount: int
    items: tuple[LineItem, ...]
    customer: Customer
    destinations: tuple[Destination, ...] = ()
    description: str = ""
    ordered_at: str = ""  # ISO date (JST) of the order


@dataclass(frozen=True)
class Shipment:
    carrier: str  # our carrier vocabulary code (see the provider's const module for the mapping)
    tracking_no: str
    shipped_on: str = ""  # ISO date (JST)


# --------------------------------------------------------------------------- results


class ProviderStatus(enum.StrEnum):
    """Where a transaction stands at the provider, in our words."""

    AUTHORIZED = "authorized"
    PENDING_REVIEW = "pending_review"
    DECLINED = "declined"
    CAPTURED = "captured"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TransactionSnapshot:
    """A provider's view of one transaction after a call (or a fetch).

    ``amount`` is the authorized amount; ``captured_amount`` the captured part (0 until captured);
    ``refunded_amount`` the money returned out of the captured amount — 0 for a transaction cancelled
    before capture (nothing was collected, so nothing was refunded)."""

    provider_ref: str
    status: ProviderStatus
    amount: int
    shop_transaction_no: str = ""
    captured_amount: int = 0
    refunded_amount: int = 0
    request_id: str = ""  # the call's request id, for the operation history and support
    decline_code: str = ""  # provider reason code, e.g. "1" (金額超過) for atone
    decline_message: str = ""  # Japanese, shown to staff
    review_reason: str = ""  # 保留 reason in Japanese
    buyer_token: str = ""  # token for recurring charges / pre_token
    superseded_refs: tuple[str, ...] = ()  # earlier provider transactions this one replaced
    shipment_reported: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict)  # provider payload (never credentials)


@dataclass(frozen=True)
class CheckoutConfig:
    """What the hosted checkout (or a cart's own page) needs to run the provider's widget."""

    script_url: str
    widget: Mapping[str, Any]  # JSON-serialisable; for atone: pub_key, pre_token, payment (with checksum)


@dataclass(frozen=True)
class WebhookEvent:
    """An inbound notification, parsed. Always a hint: the hub confirms with ``fetch``."""

    kind: Literal["payment", "authentication"]
    provider_ref: str = ""
    buyer_token: str = ""
    buyer_id: str = ""
    dedup_key: str = ""  # identifies this notification for deduplication
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str  # Japanese, for the 接続テスト result


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class FieldError:
    field: str  # our field path, e.g. "customer.zip_code"
    code: str
    message: str


class ProviderError(Exception):
    """Base of the error taxonomy. ``code`` keeps the raw provider code with an action prefix."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        request_id: str = "",
        fields: tuple[FieldError, ...] = (),
        payload: Mapping[str, Any] | None = None,
        snapshot: TransactionSnapshot | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id
        self.fields = fields
        self.payload: Mapping[str, Any] = payload or {}
        self.snapshot = snapshot


class ProviderDeclined(ProviderError):
    """与信NG: stop and show the Japanese reason. ``snapshot`` holds the NG transaction if one exists."""


class ProviderPending(ProviderError):
    """与信保留 / 審査中: wait, refresh later. ``snapshot`` holds the held transaction."""


class ProviderRequestInvalid(ProviderError):
    """The provider rejected our request (field errors): stop, show the field messages."""


class ProviderAuthError(ProviderError):
    """Wrong keys: stop, point staff at the account settings."""


class ProviderUnavailable(ProviderError):
    """Timeout, 5xx, 429, connection reset. For a non-idempotent call the outcome is unknown:
    never retry blindly — ``fetch`` (refresh) settles it."""


class UnsupportedOperation(ProviderError):
    """The provider has no such operation (see its Capabilities)."""


# --------------------------------------------------------------------------- the protocol


@runtime_checkable
class Provider(Protocol):
    """One configured provider account, ready to make calls."""

    code: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    def authorize(self, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        """Server-side authorization from order data (NP後払い, GMO後払い)."""
        ...

    def charge_token(self, token: str, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        """Authorize with a stored buyer token (継続課金, server-side atone/Paidy)."""
        ...

    def capture(self, provider_ref: str, *, amount: int | None = None) -> TransactionSnapshot: ...

    def cancel(self, provider_ref: str) -> TransactionSnapshot: ...

    def change_amount(self, provider_ref: str, order: OrderData) -> TransactionSnapshot:
        """Re-register the transaction with new lines/amount. The result may carry a new
        ``provider_ref`` (the old one in ``superseded_refs``) and may be declined."""
        ...

    def report_shipment(self, provider_ref: str, shipment: Shipment) -> TransactionSnapshot: ...

    def refund(self, provider_ref: str, *, amount: int, reason: str = "") -> TransactionSnapshot: ...

    def fetch(self, provider_ref: str) -> TransactionSnapshot: ...

    def parse_webhook(self, kind: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent: ...

    def checkout_config(self, order: OrderData, *, capture: bool, pre_token: str = "") -> CheckoutConfig: ...

    def test_connection(self) -> ConnectionCheck:
        """接続テスト: prove the keys work without moving money."""
        ...


@dataclass(frozen=True)
class ProviderSettings:
    """How one account is configured, as the adapter constructor receives it."""

    credentials: Mapping[str, str]
    environment: Environment
    base_url: str | None = None  # only honoured for test accounts in sandbox-enabled installs
    options: Mapping[str, Any] = field(default_factory=dict)
    timeout: float = 10.0
