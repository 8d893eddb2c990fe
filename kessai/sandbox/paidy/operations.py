"""What the emulator does: Checkout authorization, token payments, capture, refund, close, update, tokens.

The REST routes, the Checkout endpoint and the control endpoint all come here; this module is the only
one that changes payments and tokens. Every function takes the store lock for its whole run and returns a
JSON snapshot taken under it. Webhooks are enqueued after each change (note §2.4).

Test outcomes (note §2.5): the buyer e-mail ``rejected.payment@paidy.com`` is rejected; every other buyer
(``successful.payment@paidy.com`` with ``08000000001`` is the documented one) is authorized. A token
payment uses the e-mail the token was created with.
"""

from __future__ import annotations

from typing import Any

from kessai.sandbox.paidy.config import MerchantConfig
from kessai.sandbox.paidy.errors import Code, PaidyError, malformed
from kessai.sandbox.paidy.state import (
    Capture,
    Event,
    MovementKind,
    Payment,
    PaymentStatus,
    Refund,
    Store,
    Suspension,
    Token,
    TokenStatus,
    expiry,
    iso,
    next_status,
)
from kessai.sandbox.paidy.validation import (
    PaymentData,
    validate_capture,
    validate_payment,
    validate_refund,
    validate_token_action,
    validate_update,
)
from kessai.sandbox.paidy.webhooks import WebhookSender

TEST_EMAIL_SUCCESS = "successful.payment@paidy.com"
TEST_EMAIL_REJECTED = "rejected.payment@paidy.com"
TEST_PHONE = "08000000001"
TEST_OTP = "8888"
DEFAULT_WALLET_ID = "default"


def screen(email: str) -> PaymentStatus:
    """The credit decision: the documented rejection e-mail is rejected, everyone else authorized."""
    return PaymentStatus.REJECTED if email.strip().lower() == TEST_EMAIL_REJECTED else PaymentStatus.AUTHORIZED


class PaidyOperations:
    def __init__(self, store: Store, webhooks: WebhookSender) -> None:
        self.store = store
        self.webhooks = webhooks

    # -- events ------------------------------------------------------------------------------------

    def _payment_event(
        self, merchant: MerchantConfig, payment: Payment, status: str, *, capture_id: str = "", reason: str = ""
    ) -> None:
        event: dict[str, Any] = {"payment_id": payment.id}
        if capture_id:
            event["capture_id"] = capture_id
        event.update({"event_type": "payment", "status": status, "order_ref": payment.order.get("order_ref")})
        if status == "refund_success":
            event["reason"] = reason or None
        event["timestamp"] = iso(self.store.now())
        self.webhooks.enqueue(merchant, event)

    def _token_event(self, merchant: MerchantConfig, token: Token, status: str) -> None:
        self.webhooks.enqueue(merchant, {"token_id": token.id, "status": status, "timestamp": iso(self.store.now())})

    # -- authorization -----------------------------------------------------------------------------

    def _register(
        self,
        merchant: MerchantConfig,
        data: PaymentData,
        buyer: dict[str, Any],
        *,
        channel: str,
        token: Token | None,
    ) -> Payment:
        now = self.store.now()
        email = str(buyer.get("email") or "")
        status = screen(email)
        payment = Payment(
            id=self.store.new_id("pay_", self.store.payments),
            merchant=merchant.public_key,
            status=status,
            amount=data.amount,
            store_name=data.store_name,
            description=data.description,
            buyer=buyer,
            buyer_data=data.buyer_data,
            order={**data.order, "updated_at": iso(now)},
            shipping_address=data.shipping_address,
            metadata=data.metadata,
            created_at=now,
            expires_at=expiry(merchant, now),
            channel=channel,
            token_id=token.id if token else None,
            consumer_id=token.consumer_id if token else self.store.consumer_id(email, str(buyer.get("phone") or "")),
        )
        self.store.payments[payment.id] = payment
        kind = MovementKind.AUTHORIZE if status is PaymentStatus.AUTHORIZED else MovementKind.REJECT
        self.store.record_movement(kind, payment, payment.amount, via=channel)
        if status is PaymentStatus.AUTHORIZED:
            self._payment_event(merchant, payment, "authorize_success")
        return payment

    def checkout(
        self, merchant: MerchantConfig, payload: dict[str, Any], *, email: str | None = None, phone: str | None = None
    ) -> dict[str, Any]:
        """The buyer approved in the Checkout modal (OTP checked by the caller): validate the payload,
        screen the buyer (the e-mail and phone typed in the modal win over the payload's) and store."""
        if email is not None or phone is not None:
            buyer = dict(payload.get("buyer") or {}) if isinstance(payload.get("buyer"), dict) else {}
            if email is not None:
                buyer["email"] = email
            if phone is not None:
                buyer["phone"] = phone
            payload = {**payload, "buyer": buyer}
        data = validate_payment(payload, checkout=True)
        with self.store.lock:
            return self._register(merchant, data, data.buyer, channel="checkout", token=None).to_json()

    def create_payment(self, merchant: MerchantConfig, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /payments`` with ``token_id``: the token and its consumer must be ACTIVE."""
        data = validate_payment(body, checkout=False)
        with self.store.lock:
            token = self.store.tokens.get(data.token_id or "")
            if token is None or token.merchant != merchant.public_key:
                raise malformed(f"token_id: unknown token {data.token_id}")
            if token.status is not TokenStatus.ACTIVE:
                raise PaidyError(Code.TOKEN_NOT_ACTIVE, f"token_id: the token is {token.status.value}")
            buyer = {k: token.origin.get(k) for k in ("name1", "name2", "email", "phone") if token.origin.get(k)}
            return self._register(merchant, data, buyer, channel="api", token=token).to_json()

    # -- payments ----------------------------------------------------------------------------------

    def get(self, merchant: MerchantConfig, payment_id: str) -> dict[str, Any]:
        with self.store.lock:
            return self.store.payment_for(merchant, payment_id).to_json()

    def capture(self, merchant: MerchantConfig, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /payments/{id}/captures``: always the full amount; AUTHORIZED only; before expires_at."""
        metadata = validate_capture(body)
        with self.store.lock:
            payment = self.store.payment_for(merchant, payment_id)
            now = self.store.now()
            if payment.expired(now):
                raise PaidyError(
                    Code.PAYMENT_EXPIRED, f"expires_at: the authorization expired at {iso(payment.expires_at)}"
                )
            payment.status = next_status(payment.status, payment.captured, Event.CAPTURE)
            capture = Capture(
                id=self.store.new_id("cap_", {c.id: c for p in self.store.payments.values() for c in p.captures}),
                amount=payment.amount,
                created_at=now,
                tax=payment.order.get("tax"),
                shipping=payment.order.get("shipping"),
                items=list(payment.order.get("items") or []),
                metadata=metadata,
            )
            payment.captures.append(capture)
            self.store.record_movement(MovementKind.CAPTURE, payment, capture.amount, via="api")
            self._payment_event(merchant, payment, "capture_success", capture_id=capture.id)
            return payment.to_json()

    def refund(self, merchant: MerchantConfig, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /payments/{id}/refunds``: only after a capture; omitted amount = all that is left."""
        data = validate_refund(body)
        with self.store.lock:
            payment = self.store.payment_for(merchant, payment_id)
            next_status(payment.status, payment.captured, Event.REFUND)
            if all(c.id != data.capture_id for c in payment.captures):
                raise malformed(f"capture_id: {data.capture_id} is not a capture of this payment")
            left = payment.refundable
            amount = left if data.amount is None else data.amount
            if left <= 0 or amount > left:
                raise PaidyError(Code.REFUND_AMOUNT, f"amount: {amount} exceeds the refundable amount {left}")
            refund = Refund(
                id=self.store.new_id("ref_", {r.id: r for p in self.store.payments.values() for r in p.refunds}),
                capture_id=data.capture_id,
                amount=amount,
                created_at=self.store.now(),
                reason=data.reason,
                metadata=data.metadata,
            )
            payment.refunds.append(refund)
            self.store.record_movement(MovementKind.REFUND, payment, amount, via="api")
            self._payment_event(
                merchant, payment, "refund_success", capture_id=data.capture_id, reason=data.reason or ""
            )
            return payment.to_json()

    def close(self, merchant: MerchantConfig, payment_id: str) -> dict[str, Any]:
        """``POST /payments/{id}/close``: an AUTHORIZED payment never captured (even past expires_at)."""
        with self.store.lock:
            payment = self.store.payment_for(merchant, payment_id)
            payment.status = next_status(payment.status, payment.captured, Event.CLOSE)
            self.store.record_movement(MovementKind.CLOSE, payment, payment.amount, via="api")
            self._payment_event(merchant, payment, "close_success")
            return payment.to_json()

    def update(self, merchant: MerchantConfig, payment_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """``PUT /payments/{id}``: ``order_ref``, ``description``, ``metadata``; everything else ignored."""
        changes = validate_update(body)
        with self.store.lock:
            payment = self.store.payment_for(merchant, payment_id)
            next_status(payment.status, payment.captured, Event.UPDATE)
            if "order_ref" in changes:
                payment.order["order_ref"] = changes["order_ref"]
            if "description" in changes:
                payment.description = changes["description"]
            if "metadata" in changes:
                payment.metadata = changes["metadata"]
            payment.order["updated_at"] = iso(self.store.now())
            self._payment_event(merchant, payment, "update_success")
            return payment.to_json()

    # -- tokens ------------------------------------------------------------------------------------

    def create_token(
        self,
        merchant: MerchantConfig,
        buyer: dict[str, Any],
        *,
        address: dict[str, Any] | None = None,
        wallet_id: str = DEFAULT_WALLET_ID,
        description: str = "",
        metadata: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A recurring token approved by the buyer (Checkout's token flow, or ``/_sandbox/tokens``)."""
        email = str(buyer.get("email") or "")
        phone = str(buyer.get("phone") or "")
        if not email or not phone:
            raise malformed("buyer: email and phone are required for a token")
        with self.store.lock:
            now = self.store.now()
            origin = {k: buyer.get(k) for k in ("name1", "name2", "email", "phone")}
            origin["address"] = address
            token = Token(
                id=self.store.new_id("tok_", self.store.tokens),
                merchant=merchant.public_key,
                merchant_id=self.store.merchant_id(merchant),
                wallet_id=wallet_id or DEFAULT_WALLET_ID,
                consumer_id=self.store.consumer_id(email, phone),
                origin=origin,
                description=description,
                metadata=dict(metadata or {}),
                created_at=now,
                activated_at=now,
            )
            self.store.tokens[token.id] = token
            self._token_event(merchant, token, "activate_success")
            return token.to_json()

    def list_tokens(self, merchant: MerchantConfig) -> list[dict[str, Any]]:
        with self.store.lock:
            return [t.to_json() for t in self.store.tokens.values() if t.merchant == merchant.public_key]

    def get_token(self, merchant: MerchantConfig, token_id: str) -> dict[str, Any]:
        with self.store.lock:
            return self.store.token_for(merchant, token_id).to_json()

    def token_action(
        self, merchant: MerchantConfig, token_id: str, verb: str, body: dict[str, Any], *, authority: str = "merchant"
    ) -> dict[str, Any]:
        """suspend (ACTIVE), resume (SUSPENDED, by the party that suspended it), delete (not DELETED)."""
        action = validate_token_action(body, verb)
        with self.store.lock:
            token = self.store.token_for(merchant, token_id)
            if token.wallet_id != DEFAULT_WALLET_ID and action.wallet_id != token.wallet_id:
                raise malformed("wallet_id: required (and must match) for a token of a custom wallet")
            if action.wallet_id is not None and action.wallet_id != token.wallet_id:
                raise malformed(f"wallet_id: the token belongs to wallet {token.wallet_id}")
            now = self.store.now()
            if verb == "suspend":
                if token.status is not TokenStatus.ACTIVE:
                    raise PaidyError(
                        Code.TOKEN_STATUS, f"status: only an ACTIVE token can be suspended ({token.status})"
                    )
                token.status = TokenStatus.SUSPENDED
                token.suspensions.append(Suspension(now, authority))
            elif verb == "resume":
                if token.status is not TokenStatus.SUSPENDED:
                    raise PaidyError(
                        Code.TOKEN_STATUS, f"status: only a SUSPENDED token can be resumed ({token.status})"
                    )
                if token.suspensions and token.suspensions[-1].authority != authority:
                    raise PaidyError(
                        Code.TOKEN_STATUS,
                        f"authority: suspended by the {token.suspensions[-1].authority}; only they can resume it",
                    )
                token.status = TokenStatus.ACTIVE
            elif verb == "delete":
                if token.status is TokenStatus.DELETED:
                    raise PaidyError(Code.TOKEN_STATUS, "status: the token is already DELETED")
                token.status = TokenStatus.DELETED
                token.deleted_at = now
            else:
                raise PaidyError(Code.NOT_FOUND, f"no token action {verb}")
            token.bump(now)
            self._token_event(merchant, token, f"{verb}_success")
            return token.to_json()
