"""What the emulator does with one item of an envelope: 取引登録, 取引変更, 取引キャンセル, 出荷報告,
一部返品取引再登録, 与信結果取得 and 支払状況. This module is the only one that changes transactions.

Each function runs under the store lock, returns the item's result object, or raises
:class:`~kessai.sandbox.np_atobarai.state.Refused` with NP's codes for that item.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from kessai.sandbox.np_atobarai import codes, screening, validation
from kessai.sandbox.np_atobarai.config import MerchantConfig
from kessai.sandbox.np_atobarai.screening import NG, NG_OTHER, Outcome
from kessai.sandbox.np_atobarai.state import Event, Life, MovementKind, Refused, Store, Transaction, next_state

REGISTER_FIELDS = (
    "shop_transaction_id",
    "shop_order_date",
    "settlement_type",
    "billed_amount",
    "customer",
    "dest_customer",
    "goods",
)
ENCLOSED = "03"


def _dest(item: Mapping[str, Any]) -> dict[str, Any] | None:
    dest = item.get("dest_customer")
    return dict(dest) if validation.dest_present(dest) and isinstance(dest, Mapping) else None


class Operations:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- helpers ---------------------------------------------------------------------------------

    def _lookup(self, merchant: MerchantConfig, value: Any) -> Transaction:
        found = validation.np_id(value)
        if found:
            raise Refused(*found)
        return self.store.transaction_for(merchant, str(value))

    def _new_id(self) -> str:
        np_id = self.store.new_id()
        while np_id in self.store.transactions:
            np_id = self.store.new_id()
        return np_id

    def _screen(self, tx: Transaction) -> None:
        outcome, deferred = screening.screen(
            tx.customer, tx.dest_customer, tx.billed_amount, self.store.settings.credit_limit
        )
        now = self.store.now()
        tx.outcome, tx.deferred, tx.review_lookups, tx.screened_at = outcome, deferred, 0, now
        tx.authori_required_date = None if deferred is not None else now

    def _duplicate(self, merchant: MerchantConfig, item: Mapping[str, Any]) -> bool:
        """Same shop_transaction_id and billed amount within a month (note §1.3), not cancelled, not NG."""
        since = self.store.now() - timedelta(days=self.store.config.duplicate_window_days)
        return any(
            tx.merchant == merchant.merchant_code
            and tx.shop_transaction_id == item.get("shop_transaction_id")
            and tx.billed_amount == item.get("billed_amount")
            and tx.registered_at >= since
            and tx.life is not Life.CANCELLED
            and tx.outcome.result != NG
            for tx in self.store.transactions.values()
        )

    # -- 取引登録 --------------------------------------------------------------------------------

    def register(self, merchant: MerchantConfig, item: Mapping[str, Any], terminal_id: str | None) -> dict[str, Any]:
        found = validation.register(item)
        if found:
            raise Refused(*found)
        if self._duplicate(merchant, item):
            raise Refused(codes.DUPLICATE_REGISTRATION)
        now = self.store.now()
        tx = Transaction(
            np_transaction_id=self._new_id(),
            merchant=merchant.merchant_code,
            shop_transaction_id=str(item["shop_transaction_id"]),
            shop_order_date=str(item["shop_order_date"]),
            settlement_type=str(item["settlement_type"]),
            billed_amount=int(item["billed_amount"]),
            customer=dict(item["customer"]),
            dest_customer=_dest(item),
            goods=[dict(g) for g in item["goods"]],
            outcome=Outcome(screening.OK),
            registered_at=now,
            screened_at=now,
            terminal_id=terminal_id,
        )
        self._screen(tx)
        self.store.transactions[tx.np_transaction_id] = tx
        self.store.record_movement(MovementKind.REGISTER, tx)
        return tx.screening_json()

    # -- 取引変更 --------------------------------------------------------------------------------

    def update(self, merchant: MerchantConfig, item: Mapping[str, Any]) -> dict[str, Any]:
        """The given register fields replace the stored ones (the full set [C S2,S3] or only billed_amount +
        goods [C S1]); the merged transaction is validated and re-screened."""
        tx = self._lookup(merchant, item.get("np_transaction_id"))
        merged: dict[str, Any] = {
            "shop_transaction_id": tx.shop_transaction_id,
            "shop_order_date": tx.shop_order_date,
            "settlement_type": tx.settlement_type,
            "billed_amount": tx.billed_amount,
            "customer": tx.customer,
            "dest_customer": tx.dest_customer,
            "goods": tx.goods,
        }
        merged.update({key: item[key] for key in REGISTER_FIELDS if key in item})
        found = validation.register(merged)
        if found:
            raise Refused(*found)
        tx.life = next_state(tx.life, Event.UPDATE)
        tx.shop_transaction_id = str(merged["shop_transaction_id"])
        tx.shop_order_date = str(merged["shop_order_date"])
        tx.settlement_type = str(merged["settlement_type"])
        tx.billed_amount = int(merged["billed_amount"])
        tx.customer = dict(merged["customer"])
        tx.dest_customer = _dest(merged)
        tx.goods = [dict(g) for g in merged["goods"]]
        self._screen(tx)
        self.store.record_movement(MovementKind.UPDATE, tx)
        return tx.screening_json()

    # -- 取引キャンセル ---------------------------------------------------------------------------

    def cancel(self, merchant: MerchantConfig, item: Mapping[str, Any]) -> dict[str, Any]:
        tx = self._lookup(merchant, item.get("np_transaction_id"))
        if tx.life in (Life.CANCELLED, Life.REREGISTERED):
            raise Refused(codes.ALREADY_CANCELLED)
        if tx.paid_at is not None:
            raise Refused(codes.ALREADY_PAID)
        if tx.returned_at is not None:
            raise Refused(codes.RETURNED)
        tx.life = next_state(tx.life, Event.CANCEL)
        tx.cancelled_at = self.store.now()
        self.store.record_movement(MovementKind.CANCEL, tx)
        return {"np_transaction_id": tx.np_transaction_id}

    # -- 出荷報告 --------------------------------------------------------------------------------

    def ship(self, merchant: MerchantConfig, item: Mapping[str, Any]) -> dict[str, Any]:
        tx = self._lookup(merchant, item.get("np_transaction_id"))
        found = validation.shipment(item, codes.CARRIER_CODES)
        if found:
            raise Refused(*found)
        if tx.life is not Life.OPEN:
            next_state(tx.life, Event.SHIPMENT)  # refuses: E0100115 (shipped) / E0100118 (cancelled)
        if not tx.authorized:
            raise Refused(codes.NOT_AUTHORIZED)
        issued = item.get("bill_issued_date")
        if tx.settlement_type == ENCLOSED and issued is None:
            raise Refused(codes.BILL_ISSUED_DATE)
        if tx.settlement_type != ENCLOSED and issued is not None:
            raise Refused(codes.WRONG_PAYMENT_METHOD)
        tx.life = next_state(tx.life, Event.SHIPMENT)
        tx.shipped_at = self.store.now()
        tx.shipment = {
            "pd_company_code": item["pd_company_code"],
            "slip_no": str(item["slip_no"]).strip(),
            "bill_issued_date": issued,
        }
        self.store.record_movement(MovementKind.SHIPMENT, tx)
        return {"np_transaction_id": tx.np_transaction_id}

    # -- 一部返品取引再登録 ------------------------------------------------------------------------

    def reregister(self, merchant: MerchantConfig, item: Mapping[str, Any], terminal_id: str | None) -> dict[str, Any]:
        base = self._lookup(merchant, item.get("base_np_transaction_id"))
        found = validation.reregister(item)
        if found:
            raise Refused(*found)
        if base.life is Life.SHIPPED and base.paid_at is not None:
            raise Refused(codes.ALREADY_PAID)
        if base.life is Life.SHIPPED and base.returned_at is not None:
            raise Refused(codes.RETURNED)
        if base.life is Life.SHIPPED and base.generation + 1 > self.store.settings.max_reregistrations:
            raise Refused(codes.TOO_MANY_REREGISTRATIONS)
        base.life = next_state(base.life, Event.REREGISTER)
        now = self.store.now()
        tx = Transaction(
            np_transaction_id=self._new_id(),
            merchant=merchant.merchant_code,
            shop_transaction_id=str(item["shop_transaction_id"]),
            shop_order_date=str(item["shop_order_date"]),
            settlement_type=base.settlement_type,
            billed_amount=int(item["billed_amount"]),
            customer=dict(base.customer),
            dest_customer=dict(base.dest_customer) if base.dest_customer else None,
            goods=[dict(g) for g in item["goods"]],
            outcome=Outcome(screening.OK),
            registered_at=now,
            screened_at=now,
            base_np_transaction_id=base.np_transaction_id,
            generation=base.generation + 1,
            terminal_id=terminal_id,
        )
        self._screen(tx)
        base.reregistered_to = tx.np_transaction_id
        base.cancelled_at = now
        self.store.transactions[tx.np_transaction_id] = tx
        self.store.record_movement(MovementKind.REREGISTER, tx)
        return {"base_np_transaction_id": base.np_transaction_id, **tx.screening_json()}

    # -- 与信結果取得 / 支払状況 ------------------------------------------------------------------

    def find_authorization(self, merchant: MerchantConfig, item: Mapping[str, Any]) -> dict[str, Any]:
        """The screening result [I: shape]. A 40 resolves on the configured lookup or after the configured
        seconds; a 保留 older than ``hold_expires_seconds`` becomes NG999. Cancelled → E0100118 [I]."""
        tx = self._lookup(merchant, item.get("np_transaction_id"))
        if tx.life in (Life.CANCELLED, Life.REREGISTERED):
            raise Refused(codes.ALREADY_CANCELLED)
        settings = self.store.settings
        now = self.store.now()
        elapsed = (now - tx.screened_at).total_seconds()
        if tx.outcome.result == screening.REVIEW and tx.deferred is not None:
            tx.review_lookups += 1
            by_lookups = (
                settings.review_resolve_lookups is not None and tx.review_lookups >= settings.review_resolve_lookups
            )
            by_time = settings.review_resolve_seconds is not None and elapsed >= settings.review_resolve_seconds
            if by_lookups or by_time:
                self.settle_review(tx, tx.deferred)
        elif (
            tx.outcome.result == screening.HOLD
            and settings.hold_expires_seconds is not None
            and elapsed >= settings.hold_expires_seconds
        ):
            tx.outcome, tx.authori_required_date = Outcome(NG, ng=NG_OTHER), now
        return tx.screening_json()

    def find_payment(self, merchant: MerchantConfig, item: Mapping[str, Any]) -> dict[str, Any]:
        tx = self._lookup(merchant, item.get("np_transaction_id"))
        if tx.life in (Life.CANCELLED, Life.REREGISTERED):
            raise Refused(codes.ALREADY_CANCELLED)
        return {
            "np_transaction_id": tx.np_transaction_id,
            "payment_status": tx.payment_status,
            "customer_payment_date": tx.paid_at.date().isoformat() if tx.paid_at else None,
        }

    # -- control ---------------------------------------------------------------------------------

    def settle_review(self, tx: Transaction, outcome: Outcome) -> None:
        """NP's manual review finished with ``outcome``."""
        tx.outcome, tx.deferred, tx.authori_required_date = outcome, None, self.store.now()

    def mark_paid(self, tx: Transaction) -> None:
        if tx.life is not Life.SHIPPED:
            raise Refused(codes.NOT_SHIPPED)
        tx.paid_at = self.store.now()

    def mark_returned(self, tx: Transaction) -> None:
        if tx.life is not Life.SHIPPED:
            raise Refused(codes.NOT_SHIPPED)
        tx.returned_at = self.store.now()
