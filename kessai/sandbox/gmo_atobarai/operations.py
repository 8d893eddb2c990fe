"""What the emulator does: 取引登録, 取引修正/キャンセル, 与信審査結果確認, 出荷報告 (+ 修正/取消).

The API routes and the control endpoint come here; this module is the only one that changes
transactions. Every function takes the store lock for its whole run and returns the answer's elements.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # types only; parsing is in xmlio (defused)
from typing import Any

from kessai.sandbox.gmo_atobarai import codes
from kessai.sandbox.gmo_atobarai.config import ShopConfig
from kessai.sandbox.gmo_atobarai.screening import AuthorResult, screen
from kessai.sandbox.gmo_atobarai.state import (
    STATE_BY_RESULT,
    Event,
    MovementKind,
    ShipmentRecord,
    Store,
    Transaction,
    TxState,
    next_state,
    shop_key,
)
from kessai.sandbox.gmo_atobarai.validation import (
    OrderRequest,
    transaction_id,
    update_kind,
    validate_order,
    validate_shipment,
)


def transaction_result(tx: Transaction) -> dict[str, Any]:
    """``result`` OK + ``transactionResult{gmoTransactionId, authorResult}`` (note)."""
    return {"result": "OK", "transactionResult": {"gmoTransactionId": tx.id, "authorResult": tx.author_result.value}}


def transaction_info(tx: Transaction) -> dict[str, Any]:
    """The 出荷報告 answers: ``result`` OK + ``transactionInfo{gmoTransactionId}`` (Go client [I])."""
    return {"result": "OK", "transactionInfo": {"gmoTransactionId": tx.id}}


class GmoOperations:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- screening -------------------------------------------------------------------------------

    def _check_duplicate(self, shop: ShopConfig, shop_transaction_id: str, exclude: str = "") -> None:
        for tx in self.store.transactions.values():
            if (
                tx.shop == shop_key(shop)
                and tx.shop_transaction_id == shop_transaction_id
                and tx.id != exclude
                and tx.state is not TxState.CANCELLED
            ):
                raise codes.ng(codes.DUPLICATE)

    def _screen(self, shop: ShopConfig, tx: Transaction, order: OrderRequest) -> None:
        open_amount = self.store.open_amount(shop, order.email, exclude=tx.id)
        decision = screen(order.address, order.amount, open_amount, self.store.settings.credit_limit)
        tx.author_result = decision.result
        tx.final_result = decision.final
        tx.reason = decision.reason
        tx.state = STATE_BY_RESULT[decision.result]
        tx.lookups = 0

    def _resolve(self, tx: Transaction, result: AuthorResult, detail: str) -> None:
        tx.author_result = result
        tx.final_result = result
        tx.state = STATE_BY_RESULT[result]
        self.store.record_movement(MovementKind.RESOLVE, tx, detail)

    # -- transaction.do / modifycanceltransaction.do ------------------------------------------------

    def register(self, shop: ShopConfig, root: ET.Element) -> dict[str, Any]:
        order = validate_order(root, modify=False)
        with self.store.lock:
            self._check_duplicate(shop, order.shop_transaction_id)
            tx = Transaction(
                id=self.store.new_transaction_id(),
                shop=shop_key(shop),
                shop_transaction_id=order.shop_transaction_id,
                state=TxState.AUTHORIZED,
                author_result=AuthorResult.OK,
                final_result=AuthorResult.OK,
                reason="",
                amount=order.amount,
                payment_type=order.payment_type,
                email=order.email,
                buyer=order.buyer,
                deliveries=order.deliveries,
                registered_at=self.store.now(),
            )
            self._screen(shop, tx, order)
            self.store.transactions[tx.id] = tx
            self.store.record_movement(MovementKind.REGISTER, tx, tx.author_result.value)
            return transaction_result(tx)

    def modify_or_cancel(self, shop: ShopConfig, root: ET.Element) -> dict[str, Any]:
        """updateKind 1: the whole order again, re-screened (same id); 2: cancel."""
        kind = update_kind(root)
        tx_id = transaction_id(root, "buyer")
        with self.store.lock:
            tx = self.store.transaction_for(shop, tx_id)
            if kind == "2":
                tx.state = TxState(next_state(tx.state, Event.CANCEL))
                tx.cancelled_at = self.store.now()
                self.store.record_movement(MovementKind.CANCEL, tx)
                return transaction_result(tx)
            next_state(tx.state, Event.MODIFY)
        order = validate_order(root, modify=True)
        with self.store.lock:
            next_state(tx.state, Event.MODIFY)  # again: the state may have moved while validating
            self._check_duplicate(shop, order.shop_transaction_id, exclude=tx.id)
            tx.shop_transaction_id = order.shop_transaction_id
            tx.amount = order.amount
            tx.payment_type = order.payment_type
            tx.email = order.email
            tx.buyer = order.buyer
            tx.deliveries = order.deliveries
            tx.modified_at = self.store.now()
            self._screen(shop, tx, order)
            self.store.record_movement(MovementKind.MODIFY, tx, tx.author_result.value)
            return transaction_result(tx)

    # -- getauthor.do ------------------------------------------------------------------------------

    def getauthor(self, shop: ShopConfig, root: ET.Element) -> dict[str, Any]:
        """The screening result; a 審査中 resolves on the configured lookup (``review_resolve_lookups``)."""
        tx_id = transaction_id(root, "transaction")
        with self.store.lock:
            tx = self.store.transaction_for(shop, tx_id)
            if tx.state is TxState.IN_REVIEW:
                tx.lookups += 1
                needed = self.store.settings.review_resolve_lookups
                if needed is not None and tx.lookups >= needed:
                    self._resolve(tx, tx.final_result, f"getauthor #{tx.lookups}")
            return transaction_result(tx)

    def resolve(self, transaction_id_: str, result: AuthorResult) -> dict[str, Any]:
        """``/_sandbox/transactions/{id}/resolve``: decide a 審査中 now."""
        with self.store.lock:
            tx = self.store.transactions.get(transaction_id_)
            if tx is None:
                raise codes.ng(codes.NOT_FOUND)
            if tx.state is not TxState.IN_REVIEW:
                raise codes.GmoNg.of(codes.STATE, "審査中の取引ではありません。")
            self._resolve(tx, result, "control")
            return tx.to_json()

    # -- pdrequest.do / modifycancelpdrequest.do ---------------------------------------------------

    def ship(self, shop: ShopConfig, root: ET.Element) -> dict[str, Any]:
        """出荷報告 = the capture: only an OK (authorized) transaction; a second report is TR0003."""
        tx_id = transaction_id(root, "transaction")
        with self.store.lock:
            tx = self.store.transaction_for(shop, tx_id)
            target = next_state(tx.state, Event.SHIP)
            request = validate_shipment(root, payment_type=tx.payment_type)
            tx.state = TxState(target)
            tx.shipment = ShipmentRecord(
                request.pdcompanycode, request.slipno, request.invoice_issue_date, self.store.now()
            )
            self.store.record_movement(MovementKind.SHIP, tx, f"{request.pdcompanycode}:{request.slipno}")
            return transaction_info(tx)

    def modify_or_cancel_shipment(self, shop: ShopConfig, root: ET.Element) -> dict[str, Any]:
        """updateKind 1: another carrier / slip number; 2: the 出荷報告 is withdrawn (authorized again)."""
        kind = update_kind(root)
        tx_id = transaction_id(root, "transaction")
        with self.store.lock:
            tx = self.store.transaction_for(shop, tx_id)
            if kind == "2":
                tx.state = TxState(next_state(tx.state, Event.SHIP_CANCEL))
                tx.shipment = None
                self.store.record_movement(MovementKind.SHIP_CANCEL, tx)
                return transaction_info(tx)
            next_state(tx.state, Event.SHIP_MODIFY)
            request = validate_shipment(root, payment_type=tx.payment_type)
            tx.shipment = ShipmentRecord(
                request.pdcompanycode, request.slipno, request.invoice_issue_date, self.store.now()
            )
            self.store.record_movement(MovementKind.SHIP_MODIFY, tx, f"{request.pdcompanycode}:{request.slipno}")
            return transaction_info(tx)
