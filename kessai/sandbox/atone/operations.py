"""What the emulator does: buyer authentication, 取引登録/取引更新, 売上確定, 取消/払戻, 取引参照.

The REST routes, the widget's modal endpoint and the control endpoint all come here; this module is
the only one that changes transactions. Every function takes the store lock for its whole run and
returns a JSON snapshot taken under it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from kessai.sandbox.atone import errors
from kessai.sandbox.atone.clock import days_between
from kessai.sandbox.atone.config import MerchantConfig
from kessai.sandbox.atone.errors import AtoneError, Code
from kessai.sandbox.atone.policy import UPDATE_WINDOW_DAYS, AuthorizationResult, screen
from kessai.sandbox.atone.state import (
    Buyer,
    Event,
    MovementKind,
    Refund,
    Store,
    Transaction,
    TxState,
    WebhookKind,
    next_state,
)
from kessai.sandbox.atone.validation import (
    MAX_AMOUNT,
    PaymentData,
    parse_int,
    valid_mobile,
    validate_payment,
    validate_server_side,
)
from kessai.sandbox.atone.webhooks import WebhookSender

REFUND_TEXT_MAX = 255
SUPERSEDED_REFUND_REASON = "取引更新"
CANCEL_REFUND_REASON = "キャンセル"


def normalize_phone(phone: str) -> str:
    """The buyer's identity: NFKC, digits only (「０９０-１２３４-５６７８」 is 09012345678)."""
    return "".join(c for c in unicodedata.normalize("NFKC", phone) if c.isdigit())


@dataclass(frozen=True)
class CheckoutResult:
    """What the modal needs: the buyer and the transaction it created."""

    authentication_token: str
    user_no: str
    transaction: dict[str, Any]
    response: dict[str, Any]  # the ``succeeded`` / ``failed`` callback argument


def callback_response(tx: Transaction) -> dict[str, Any]:
    """``{"id", "authorization_result", ["authorization_result_ng_reason"], "subtract_point"}`` (§3.1)."""
    response: dict[str, Any] = {"id": tx.id, "authorization_result": int(tx.authorization_result)}
    if tx.authorization_result_ng_reason is not None:
        response["authorization_result_ng_reason"] = int(tx.authorization_result_ng_reason)
    response["subtract_point"] = tx.subtract_point
    return response


class AtoneOperations:
    def __init__(self, store: Store, webhooks: WebhookSender) -> None:
        self.store = store
        self.webhooks = webhooks

    # -- buyers ----------------------------------------------------------------------------------

    def authenticate(
        self,
        merchant: MerchantConfig,
        phone_number: str,
        pre_token: str | None = None,
        phone_valid: bool = True,
    ) -> Buyer:
        """Log a buyer in (the modal's phone step, or ``/_sandbox/authenticate``); fires 認証Webhook.

        The same store and phone number always get the same token. ``pre_token`` is honoured when it
        belongs to this store and this phone number.
        """
        if not valid_mobile(unicodedata.normalize("NFKC", phone_number)):
            raise errors.fail(Code.LOGIN_PHONE_INVALID, "phone_number")
        digits = normalize_phone(phone_number)
        with self.store.lock:
            buyer = self._find_buyer(merchant, digits, pre_token)
            if buyer is None:
                buyer = Buyer(
                    authentication_token=self.store.ids.authentication_token(),
                    user_no=self.store.ids.user_no(),
                    merchant=merchant.public_key,
                    phone_number=digits,
                    phone_valid=phone_valid,
                )
                self.store.buyers[buyer.authentication_token] = buyer
            else:
                buyer.phone_valid = phone_valid
            payload = {"authentication_token": buyer.authentication_token, "user_no": buyer.user_no}
            self.webhooks.enqueue(merchant, WebhookKind.AUTHENTICATION, payload)
            return buyer

    def _find_buyer(self, merchant: MerchantConfig, digits: str, pre_token: str | None) -> Buyer | None:
        if pre_token:
            known = self.store.buyers.get(pre_token)
            if known and known.merchant == merchant.public_key and not known.revoked and known.phone_number == digits:
                return known
        return next(
            (
                b
                for b in self.store.buyers.values()
                if b.merchant == merchant.public_key and b.phone_number == digits and not b.revoked
            ),
            None,
        )

    def buyer_phone(self, merchant: MerchantConfig | None, pre_token: str | None) -> str | None:
        """The phone number the modal pre-fills for a ``pre_token`` (None when unknown)."""
        if merchant is None or not pre_token:
            return None
        with self.store.lock:
            buyer = self.store.buyers.get(pre_token)
            if buyer is None or buyer.merchant != merchant.public_key or buyer.revoked:
                return None
            return buyer.phone_number

    def revoke_token(self, token: str) -> bool:
        with self.store.lock:
            buyer = self.store.buyers.get(token)
            if buyer is None:
                return False
            buyer.revoked = True
            return True

    # -- create / update -------------------------------------------------------------------------

    def create(self, merchant: MerchantConfig, body: dict[str, Any], terminal_id: str | None) -> dict[str, Any]:
        """``POST /transactions``: 取引登録, 取引更新 (``updated_transactions``) or 継続課金."""
        payment = validate_payment(body)
        fields = validate_server_side(body)
        with self.store.lock:
            buyer = self.store.buyers.get(fields.authentication_token)
            if buyer is None or buyer.merchant != merchant.public_key or buyer.revoked:
                raise errors.fail(Code.TOKEN_INVALID, "authentication_token")
            if not buyer.phone_valid:
                raise errors.fail(Code.MEMBER_PHONE_INVALID, "authentication_token")
            superseded = [self._updatable(merchant, tx_id) for tx_id in fields.updated_transactions]
            tx = self._register(
                merchant,
                payment,
                buyer,
                channel="api",
                terminal_id=terminal_id,
                updated=list(fields.updated_transactions) or None,
                related=fields.related_transaction,
            )
            for old in superseded:
                self._supersede(old, tx)
            return self._announce(merchant, tx)

    def checkout(
        self, merchant: MerchantConfig, payment_body: dict[str, Any], phone_number: str, pre_token: str | None
    ) -> CheckoutResult:
        """The modal's confirm step: validate, authenticate the buyer, register the transaction."""
        payment = validate_payment(payment_body)
        with self.store.lock:
            self._check_registrable(merchant, payment, superseding=())
            buyer = self.authenticate(merchant, phone_number, pre_token)
            tx = self._register(
                merchant, payment, buyer, channel="widget", terminal_id=None, updated=None, related=None
            )
            snapshot = self._announce(merchant, tx)
            return CheckoutResult(buyer.authentication_token, buyer.user_no, snapshot, callback_response(tx))

    def _updatable(self, merchant: MerchantConfig, transaction_id: str) -> Transaction:
        tx = self.store.transactions.get(transaction_id)
        if tx is None or tx.merchant != merchant.public_key:
            raise errors.fail(Code.BAD_REQUEST, "updated_transactions", errors.TRANSACTION_NOT_FOUND)
        if days_between(tx.registered_at, self.store.now()) > UPDATE_WINDOW_DAYS:
            raise errors.fail(Code.BAD_REQUEST, "updated_transactions", errors.UPDATE_WINDOW_PASSED)
        next_state(tx.state, Event.SUPERSEDE, superseded=tx.superseded_by is not None)
        return tx

    def _check_registrable(self, merchant: MerchantConfig, payment: PaymentData, superseding: tuple[str, ...]) -> None:
        if not merchant.contract_valid:
            raise errors.fail(Code.SEX_DIVISION_OR_CONTRACT, "shop_public_key", errors.NO_VALID_CONTRACT)
        options = payment.transaction_options or ()
        if not set(options) <= set(merchant.transaction_options):
            raise errors.fail(Code.SEX_DIVISION_OR_CONTRACT, "transaction_options", errors.NO_VALID_CONTRACT)
        for tx_id in self.store.by_number.get((merchant.public_key, payment.shop_transaction_no), ()):
            tx = self.store.transactions[tx_id]
            if tx.superseded_by is None and tx.id not in superseding:
                raise errors.fail(Code.BAD_REQUEST, "shop_transaction_no", errors.DUPLICATE_SHOP_TRANSACTION_NO)

    def _register(
        self,
        merchant: MerchantConfig,
        payment: PaymentData,
        buyer: Buyer,
        channel: str,
        terminal_id: str | None,
        updated: list[str] | None,
        related: str | None,
    ) -> Transaction:
        self._check_registrable(merchant, payment, superseding=tuple(updated or ()))
        now = self.store.now()
        decision = screen(payment.customer["customer_name"], payment.amount, self.store.buyer_limit)
        ok = decision.result is AuthorizationResult.OK
        tx = Transaction(
            id=self._new_transaction_id(),
            merchant=merchant.public_key,
            authentication_token=buyer.authentication_token,
            user_no=buyer.user_no,
            shop_transaction_no=payment.shop_transaction_no,
            amount=payment.amount,
            authorization_result=decision.result,
            authorization_result_ng_reason=decision.ng_reason,
            state=TxState.AUTHORIZED if ok else TxState.DECLINED,
            registered_at=now,
            customer=dict(payment.customer),
            dest_customers=[dict(d) for d in payment.dest_customers],
            items=[dict(i) for i in payment.items],
            description_trans=payment.description_trans,
            subtract_point=payment.subtract_point or 0,
            transaction_options=list(payment.transaction_options or ()),
            related_transaction=related,
            updated_transactions=updated,
            channel=channel,
            terminal_id=terminal_id,
        )
        self.store.transactions[tx.id] = tx
        self.store.by_number.setdefault((tx.merchant, tx.shop_transaction_no), []).append(tx.id)
        self.store.record_movement(MovementKind.CREATE, tx, tx.amount, via=channel)
        if ok and payment.sales_settled:
            tx.state = next_state(tx.state, Event.SETTLE)
            tx.settled_at = now
            self.store.record_movement(MovementKind.SETTLE, tx, tx.amount, via="create")
        return tx

    def _new_transaction_id(self) -> str:
        while True:
            candidate = self.store.ids.transaction_id()
            if candidate not in self.store.transactions:
                return candidate

    def _supersede(self, old: Transaction, new: Transaction) -> None:
        previous = old.state
        old.state = next_state(old.state, Event.SUPERSEDE)
        old.superseded_by = new.id
        if previous is not TxState.DECLINED:
            amount = old.refundable
            old.refunds.append(Refund(amount, self.store.now(), SUPERSEDED_REFUND_REASON, f"{new.id} に更新"))
            self.store.record_movement(MovementKind.CANCEL, old, amount, via="update")

    def _announce(self, merchant: MerchantConfig, tx: Transaction) -> dict[str, Any]:
        """Snapshot the transaction and send the 決済Webhook (after every credit decision)."""
        snapshot = tx.to_json()
        self.webhooks.enqueue(merchant, WebhookKind.PAYMENT, snapshot)
        return snapshot

    # -- read / settle / refund -------------------------------------------------------------------

    def get(self, merchant: MerchantConfig, transaction_id: str) -> dict[str, Any]:
        with self.store.lock:
            return self.store.transaction_for(merchant, transaction_id).to_json()

    def settle(self, merchant: MerchantConfig, transaction_id: str) -> dict[str, Any]:
        """``PATCH /transactions/{id}/settle`` (売上確定). Refused once the 仮売上 has expired."""
        with self.store.lock:
            tx = self.store.transaction_for(merchant, transaction_id)
            now = self.store.now()
            if tx.expired(now):
                raise errors.fail(Code.BAD_REQUEST, "id", errors.AUTHORIZATION_EXPIRED)
            tx.state = next_state(tx.state, Event.SETTLE, superseded=tx.superseded_by is not None)
            tx.settled_at = now
            self.store.record_movement(MovementKind.SETTLE, tx, tx.amount, via="api")
            return tx.to_json()

    def refund(self, merchant: MerchantConfig, transaction_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PATCH /transactions/{id}/refund``: no ``amount_refund`` = full cancel, else a partial refund."""
        reason = _refund_text(body, "refund_reason")
        description = _refund_text(body, "description_refund")
        raw_amount = body.get("amount_refund")
        with self.store.lock:
            tx = self.store.transaction_for(merchant, transaction_id)
            superseded = tx.superseded_by is not None
            if raw_amount is None or raw_amount == "":
                tx.state = next_state(tx.state, Event.CANCEL, superseded=superseded)
                amount = tx.refundable
                kind = MovementKind.CANCEL
                reason = reason if reason is not None else CANCEL_REFUND_REASON
            else:
                amount_or_none = parse_int(raw_amount, 1, MAX_AMOUNT)
                if amount_or_none is None:
                    raise errors.fail(Code.BAD_REQUEST, "amount_refund", errors.AMOUNT_REFUND_INVALID)
                next_state(tx.state, Event.REFUND, superseded=superseded)
                if amount_or_none > tx.refundable:
                    raise errors.fail(Code.BAD_REQUEST, "amount_refund", errors.AMOUNT_REFUND_TOO_LARGE)
                amount = amount_or_none
                kind = MovementKind.REFUND
                if amount == tx.refundable:
                    tx.state = TxState.REFUNDED
            tx.refunds.append(Refund(amount, self.store.now(), reason or "", description or ""))
            self.store.record_movement(kind, tx, amount, via="api")
            return tx.to_json()


def _refund_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > REFUND_TEXT_MAX:
        raise AtoneError(details=[errors.detail(Code.BAD_REQUEST, key, errors.REFUND_TEXT_TOO_LONG)])
    return value
