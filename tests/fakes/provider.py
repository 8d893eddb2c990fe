"""A small in-memory provider for service tests. Lives in tests/, never in the package.

Outcomes are scripted per call: ``FakeLedger.script.append("decline")`` makes the next mutating
call decline; "pending", "invalid", "unavailable" (nothing stored) and "lost" (stored, then the
answer is lost — a timeout after the provider applied the change) work the same way.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kessai.providers import registry
from kessai.providers.base import (
    Capabilities,
    CheckoutConfig,
    ConnectionCheck,
    OrderData,
    ProviderAuthError,
    ProviderDeclined,
    ProviderPending,
    ProviderRequestInvalid,
    ProviderSettings,
    ProviderStatus,
    ProviderUnavailable,
    Shipment,
    TransactionSnapshot,
    WebhookEvent,
)
from kessai.providers.credentials import CredentialField, CredentialSchema

FAKE_SCHEMA = CredentialSchema(
    provider="fake",
    name="Fake Pay",
    category="deferred",
    fields=(
        CredentialField(key="merchant_id", label="加盟店ID", secret=False),
        CredentialField(key="api_secret", label="APIシークレット", secret=True, kind="secret"),
    ),
)


@dataclass
class FakeTx:
    ref: str
    amount: int
    shop_transaction_no: str
    status: ProviderStatus
    captured: int = 0
    refunded: int = 0
    shipped: bool = False


@dataclass
class FakeLedger:
    txs: dict[str, FakeTx] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    script: list[str] = field(default_factory=list)
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def reset(self) -> None:
        with self.lock:
            self.txs.clear()
            self.calls.clear()
            self.script.clear()
            self.delay = 0.0


LEDGER = FakeLedger()


class FakeProvider:
    code: ClassVar[str] = "fake"
    capabilities: ClassVar[Capabilities] = Capabilities(
        server_authorize=True,
        held_state=True,
        refund=True,
        partial_refund=True,
        change_amount=True,
        change_amount_rescreens=True,
        tokens=True,
        shipment_report=False,
        max_amount=500_000,
    )

    def __init__(self, settings: ProviderSettings) -> None:
        if settings.credentials.get("api_secret") == "wrong":
            self._auth_ok = False
        else:
            self._auth_ok = True
        self.settings = settings

    # -- helpers
    def _outcome(self, op: str) -> str:
        if not self._auth_ok:
            raise ProviderAuthError("認証に失敗しました。", code=f"{op}:AUTH")
        if LEDGER.delay:
            time.sleep(LEDGER.delay)
        with LEDGER.lock:
            LEDGER.calls[op] += 1
            return LEDGER.script.pop(0) if LEDGER.script else "ok"

    @staticmethod
    def _snap(tx: FakeTx) -> TransactionSnapshot:
        return TransactionSnapshot(
            provider_ref=tx.ref,
            status=tx.status,
            amount=tx.amount,
            shop_transaction_no=tx.shop_transaction_no,
            captured_amount=tx.captured,
            refunded_amount=tx.refunded,
            shipment_reported=tx.shipped,
        )

    def _fail_before(self, outcome: str, op: str) -> None:
        if outcome == "invalid":
            raise ProviderRequestInvalid("リクエストが不正です。", code=f"{op}:E400")
        if outcome == "unavailable":
            raise ProviderUnavailable("タイムアウトしました。", code=f"{op}:TIMEOUT")

    def _after(self, outcome: str, op: str, tx: FakeTx) -> TransactionSnapshot:
        if outcome == "lost":
            raise ProviderUnavailable("応答がありませんでした。", code=f"{op}:TIMEOUT")
        return self._snap(tx)

    def _new(self, order: OrderData, capture: bool, outcome: str, op: str) -> TransactionSnapshot:
        self._fail_before(outcome, op)
        ref = f"fk_{next(LEDGER.seq):08d}"
        status = {
            "decline": ProviderStatus.DECLINED,
            "pending": ProviderStatus.PENDING_REVIEW,
        }.get(outcome, ProviderStatus.CAPTURED if capture else ProviderStatus.AUTHORIZED)
        tx = FakeTx(ref, order.amount, order.shop_transaction_no, status, captured=order.amount if capture else 0)
        if status is not ProviderStatus.AUTHORIZED and status is not ProviderStatus.CAPTURED:
            tx.captured = 0
        with LEDGER.lock:
            LEDGER.txs[ref] = tx
        if status is ProviderStatus.DECLINED:
            raise ProviderDeclined("与信NGです。", code=f"{op}:NG", snapshot=self._snap(tx))
        if status is ProviderStatus.PENDING_REVIEW:
            raise ProviderPending("与信保留です。", code=f"{op}:HOLD", snapshot=self._snap(tx))
        return self._after(outcome, op, tx)

    def _tx(self, ref: str) -> FakeTx:
        tx = LEDGER.txs.get(ref)
        if tx is None:
            raise ProviderRequestInvalid("取引が見つかりません。", code="NOTFOUND")
        return tx

    # -- protocol
    def authorize(self, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        return self._new(order, capture, self._outcome("authorize"), "authorize")

    def charge_token(self, token: str, order: OrderData, *, capture: bool) -> TransactionSnapshot:
        return self._new(order, capture, self._outcome("charge"), "charge")

    def capture(self, provider_ref: str, *, amount: int | None = None) -> TransactionSnapshot:
        outcome = self._outcome("capture")
        self._fail_before(outcome, "capture")
        tx = self._tx(provider_ref)
        if tx.status is not ProviderStatus.AUTHORIZED:
            raise ProviderRequestInvalid("売上確定できない状態です。", code="capture:STATE")
        tx.status, tx.captured = ProviderStatus.CAPTURED, tx.amount
        return self._after(outcome, "capture", tx)

    def cancel(self, provider_ref: str) -> TransactionSnapshot:
        outcome = self._outcome("cancel")
        self._fail_before(outcome, "cancel")
        tx = self._tx(provider_ref)
        tx.refunded = tx.captured
        tx.status = ProviderStatus.CANCELLED
        return self._after(outcome, "cancel", tx)

    def change_amount(self, provider_ref: str, order: OrderData) -> TransactionSnapshot:
        outcome = self._outcome("change_amount")
        self._fail_before(outcome, "change_amount")
        tx = self._tx(provider_ref)
        if outcome == "decline":
            if not tx.captured:  # a captured transaction stays as it is: only the new amount is refused
                tx.status = ProviderStatus.DECLINED
            raise ProviderDeclined("与信NGです。", code="change_amount:NG", snapshot=self._snap(tx))
        tx.amount = order.amount
        if tx.captured:
            tx.captured = order.amount
        return self._after(outcome, "change_amount", tx)

    def report_shipment(self, provider_ref: str, shipment: Shipment) -> TransactionSnapshot:
        raise ProviderRequestInvalid("not supported")

    def refund(self, provider_ref: str, *, amount: int, reason: str = "") -> TransactionSnapshot:
        outcome = self._outcome("refund")
        self._fail_before(outcome, "refund")
        tx = self._tx(provider_ref)
        tx.refunded += amount
        return self._after(outcome, "refund", tx)

    def fetch(self, provider_ref: str) -> TransactionSnapshot:
        if not self._auth_ok:
            raise ProviderAuthError("認証に失敗しました。", code="fetch:AUTH")
        LEDGER.calls["fetch"] += 1
        return self._snap(self._tx(provider_ref))

    def parse_webhook(self, kind: str, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        raise ProviderRequestInvalid("no webhooks")

    def checkout_config(self, order: OrderData, *, capture: bool, pre_token: str = "") -> CheckoutConfig:
        return CheckoutConfig(script_url="http://fake.invalid/fake.js", widget={"amount": order.amount})

    def test_connection(self) -> ConnectionCheck:
        return ConnectionCheck(
            ok=self._auth_ok, message="接続に成功しました。" if self._auth_ok else "認証に失敗しました。"
        )


def install() -> FakeLedger:
    registry.register("fake", "tests.fakes.provider:FakeProvider", FAKE_SCHEMA)
    LEDGER.reset()
    return LEDGER


def snapshot_dict(tx: FakeTx) -> dict[str, Any]:
    return {"amount": tx.amount, "captured": tx.captured, "refunded": tx.refunded}
