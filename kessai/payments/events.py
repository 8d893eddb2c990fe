"""Domain events for the outbound webhook outbox. Called inside the transaction that changed the state,
so an event exists if and only if the change was committed."""

from __future__ import annotations

from typing import Any

from kessai.payments.models import Payment, PaymentError
from kessai.webhooks.models import OutboundEvent


def payment_payload(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "order": payment.order_id,
        "shop_order_no": payment.order.shop_order_no if payment.order_id else "",
        "provider": payment.provider,
        "provider_ref": payment.provider_ref,
        "state": payment.state,
        "amount": payment.amount,
        "captured_amount": payment.captured_amount,
        "refunded_amount": payment.refunded_amount,
        "needs_review": payment.needs_review,
    }


def publish(payment: Payment, event_type: str, extra: dict[str, Any] | None = None) -> OutboundEvent:
    return OutboundEvent.objects.create(
        shop_id=payment.shop_id,
        type=event_type,
        payload={"payment": payment_payload(payment), **(extra or {})},
    )


def publish_error(error: PaymentError, *, environment: str) -> OutboundEvent:
    """payment_error.created: a 決済エラーログ entry was written (the provider payload stays in the log)."""
    return OutboundEvent.objects.create(
        shop_id=error.shop_id,
        type="payment_error.created",
        payload={
            "environment": environment,
            "payment_error": {
                "id": error.id,
                "payment": error.payment_id,
                "provider": error.provider,
                "link_key": error.link_key,
                "operation": error.operation,
                "status": error.status,
                "code": error.code,
                "message": error.message,
                "request_id": error.request_id,
            },
        },
    )
