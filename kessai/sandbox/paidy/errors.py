"""Paidy error answers: ``{reference, status, code, title, description}`` on any non-200 (note §2.3).

The note confirms two codes, ``request_content.malformed`` and ``authentication.failed``; the others are
the emulator's own (Kessai's choice, [I]) and documented in docs/sandbox-paidy.md. ``description`` names
the wire field at fault first (``order.items[0].quantity: …``) so that a client can point at it.
"""

# ruff: noqa: S105 - error codes, not secrets

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Code(StrEnum):
    MALFORMED = "request_content.malformed"  # [C]
    AUTHENTICATION = "authentication.failed"  # [C]
    NOT_FOUND = "resource.not_found"  # [I]
    PAYMENT_STATUS = "payment.invalid_status"  # [I] capture/close/refund not allowed in this status
    PAYMENT_EXPIRED = "payment.expired"  # [I] capture after expires_at
    REFUND_AMOUNT = "refund.amount_exceeded"  # [I] more than what is left of the capture
    TOKEN_NOT_ACTIVE = "token.not_active"  # [I] POST /payments with a suspended/deleted token
    TOKEN_STATUS = "token.invalid_status"  # [I] suspend/resume/delete not allowed now (or by you)


STATUS: dict[Code, int] = {
    Code.MALFORMED: 400,
    Code.AUTHENTICATION: 401,
    Code.NOT_FOUND: 404,
    Code.PAYMENT_STATUS: 400,
    Code.PAYMENT_EXPIRED: 400,
    Code.REFUND_AMOUNT: 400,
    Code.TOKEN_NOT_ACTIVE: 400,
    Code.TOKEN_STATUS: 400,
}

TITLES: dict[Code, str] = {
    Code.MALFORMED: "Malformed request content",
    Code.AUTHENTICATION: "Authentication failed",
    Code.NOT_FOUND: "Resource not found",
    Code.PAYMENT_STATUS: "Invalid payment status",
    Code.PAYMENT_EXPIRED: "Payment expired",
    Code.REFUND_AMOUNT: "Refund amount exceeded",
    Code.TOKEN_NOT_ACTIVE: "Token not active",
    Code.TOKEN_STATUS: "Invalid token status",
}


@dataclass
class PaidyError(Exception):
    code: Code
    description: str

    @property
    def status(self) -> int:
        return STATUS[self.code]

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": uuid.uuid4().hex,
            "status": self.status,
            "code": self.code.value,
            "title": TITLES[self.code],
            "description": self.description,
        }


def malformed(*problems: str) -> PaidyError:
    return PaidyError(Code.MALFORMED, "; ".join(problems))
