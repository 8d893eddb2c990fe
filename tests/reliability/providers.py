"""What the fault suite knows of each provider: its emulator's credentials and API root, the buyer data its
emulator screens OK / NG / 審査中 (documented test triggers, docs/sandbox-*.md), how a buyer authorizes without a
browser (a stored buyer token for atone and Paidy; server-side screening for NP後払い and GMO後払い), and how to
read its emulator's ``/_sandbox/ledger`` as :class:`~tests.reliability.reconcile.ProviderTx`.

Which operations apply comes from the adapter's declared capabilities, as in tests/conformance.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from kessai.providers import registry
from kessai.providers.base import Capabilities
from kessai.sandbox import atone, gmo_atobarai, np_atobarai, paidy
from tests.reliability.reconcile import (
    AUTHORIZED,
    CANCELLED,
    CAPTURED,
    DECLINED,
    HELD,
    SUPERSEDED,
    ProviderTx,
)

OK, NG, REVIEW = "ok", "ng", "review"


@dataclass
class Profile(ABC):
    code: ClassVar[str]
    api_path: ClassVar[str]
    # Fault kinds of this emulator beyond the shared ones (``eatn0399``, ``system_error``).
    provider_faults: ClassVar[tuple[str, ...]] = ()
    url: str = ""  # the emulator's base URL, e.g. http://127.0.0.1:8101

    @property
    def capabilities(self) -> Capabilities:
        caps: Capabilities = registry.adapter_class(self.code).capabilities
        return caps

    @property
    def base_url(self) -> str:
        return self.url + self.api_path

    def control(self, method: str, path: str, body: Any = None, timeout: float = 60.0) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox{path}", json=body, timeout=timeout)
        response.raise_for_status()
        return response.json()

    # -- hub side ----------------------------------------------------------------------------------------

    @abstractmethod
    def credentials(self) -> dict[str, str]: ...

    def emulator_args(self) -> list[str]:
        return []

    def point_webhooks_at(self, urls: Mapping[str, str]) -> None:  # noqa: B027 - most providers send none
        """Paste the hub's inbound webhook URLs into the provider's console (the emulator's merchant)."""

    def outcomes(self) -> tuple[str, ...]:
        return (OK, NG, REVIEW) if self.capabilities.held_state else (OK, NG)

    def customer(self, base: dict[str, str], outcome: str) -> dict[str, str]:
        return base

    def token(self, customer: Mapping[str, str]) -> str:
        """A stored buyer token for this buyer ("" where the hub screens server-side)."""
        return ""

    # -- the ledger --------------------------------------------------------------------------------------

    def ledger(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.control("GET", "/ledger", timeout=300)
        return answer

    @abstractmethod
    def transactions(self, ledger: Mapping[str, Any]) -> list[ProviderTx]: ...


class AtoneProfile(Profile):
    code = "atone"
    api_path = "/v1/"
    provider_faults = ("eatn0399",)
    phone = "09012345678"

    def credentials(self) -> dict[str, str]:
        return {"public_key": atone.DEFAULT_PUBLIC_KEY, "secret_key": atone.DEFAULT_SECRET_KEY}

    def emulator_args(self) -> list[str]:
        return ["--webhook-retry-delays", "1,3,10,30,60"]

    def point_webhooks_at(self, urls: Mapping[str, str]) -> None:
        self.control(
            "POST",
            "/merchants",
            {
                "public_key": atone.DEFAULT_PUBLIC_KEY,
                "payment_webhook_url": urls["payment"],
                "authentication_webhook_url": urls["authentication"],
            },
        )

    def customer(self, base: dict[str, str], outcome: str) -> dict[str, str]:
        # 「NPテスト」 in the name → 与信NG reason 9 (docs/sandbox-atone.md).
        return {**base, "name": "NPテスト 太郎"} if outcome == NG else base

    def token(self, customer: Mapping[str, str]) -> str:
        return str(self.control("POST", "/authenticate", {"phone_number": self.phone})["authentication_token"])

    def transactions(self, ledger: Mapping[str, Any]) -> list[ProviderTx]:
        out = []
        for entry in ledger["transactions"]:
            tx = entry["transaction"]
            state = entry["state"]
            settled = bool(tx.get("sales_settled_datetime"))
            refunded = int(tx.get("amount_refund_total") or 0)
            status = {
                "authorized": AUTHORIZED,
                "expired": AUTHORIZED,
                "settled": CAPTURED,
                "refunded": CAPTURED,
                "cancelled": CANCELLED,
                "declined": DECLINED,
            }[state]
            if entry.get("superseded_by"):
                status = SUPERSEDED
            moves = entry["movements"]
            net = int(tx["amount"]) - refunded if status == CAPTURED else 0
            out.append(
                ProviderTx(
                    provider=self.code,
                    ref=tx["id"],
                    shop_transaction_no=tx["shop_transaction_no"],
                    status=status,
                    amount=int(tx["amount"]),
                    net=net if settled else 0,
                    captures=int(moves.get("settle", 0)),
                    cancels=int(moves.get("cancel", 0)),
                    refunds=int(moves.get("refund", 0)),
                    refunded=refunded if status == CAPTURED else 0,
                )
            )
        return out


class PaidyProfile(Profile):
    code = "paidy"
    api_path = "/"

    def credentials(self) -> dict[str, str]:
        return {"public_key": paidy.DEFAULT_PUBLIC_KEY, "secret_key": paidy.DEFAULT_SECRET_KEY}

    def emulator_args(self) -> list[str]:
        return ["--webhook-retry-delays", "1,3,10,30,60"]

    def point_webhooks_at(self, urls: Mapping[str, str]) -> None:
        self.control("POST", "/merchants", {"public_key": paidy.DEFAULT_PUBLIC_KEY, "webhook_url": urls["payment"]})

    def customer(self, base: dict[str, str], outcome: str) -> dict[str, str]:
        # rejected.payment@paidy.com → REJECTED (docs/sandbox-paidy.md); a token payment uses the token's e-mail.
        return {**base, "email": paidy.TEST_EMAIL_REJECTED} if outcome == NG else base

    def token(self, customer: Mapping[str, str]) -> str:
        body = {"email": customer["email"], "phone": paidy.TEST_PHONE, "name1": customer["name"]}
        return str(self.control("POST", "/tokens", body)["id"])

    def transactions(self, ledger: Mapping[str, Any]) -> list[ProviderTx]:
        out = []
        for entry in ledger["payments"]:
            pay = entry["payment"]
            captured = sum(int(c["amount"]) for c in pay.get("captures") or [])
            refunded = sum(int(r["amount"]) for r in pay.get("refunds") or [])
            if pay["status"] == "REJECTED":
                status = DECLINED
            elif pay["status"] == "AUTHORIZED":
                status = AUTHORIZED
            else:  # CLOSED: captured (maybe refunded), or closed without a capture (cancelled)
                status = CAPTURED if captured else CANCELLED
            moves = entry["movements"]
            out.append(
                ProviderTx(
                    provider=self.code,
                    ref=pay["id"],
                    shop_transaction_no=str((pay.get("order") or {}).get("order_ref") or ""),
                    status=status,
                    amount=int(pay["amount"]),
                    net=captured - refunded if status == CAPTURED else 0,
                    captures=int(moves.get("capture", 0)),
                    cancels=int(moves.get("close", 0)),
                    refunds=int(moves.get("refund", 0)),
                    refunded=refunded,
                )
            )
        return out


class NpAtobaraiProfile(Profile):
    code = "np_atobarai"
    api_path = "/v1/"

    def credentials(self) -> dict[str, str]:
        return {
            "merchant_code": np_atobarai.DEFAULT_MERCHANT_CODE,
            "sp_code": np_atobarai.DEFAULT_SP_CODE,
            "terminal_id": np_atobarai.DEFAULT_TERMINAL_ID,
        }

    def customer(self, base: dict[str, str], outcome: str) -> dict[str, str]:
        # 「NG」 → 20 NG999; 「審査」 → 40, resolved OK on the second 与信結果取得 (docs/sandbox-np-atobarai.md).
        words = {OK: "", NG: " NG", REVIEW: " 審査"}
        return {**base, "address": base["address"] + words[outcome]}

    def transactions(self, ledger: Mapping[str, Any]) -> list[ProviderTx]:
        out = []
        for entry in ledger["transactions"]:
            tx = entry["transaction"]
            life, result = tx["life"], entry["authori_result"]
            if life == "reregistered":
                status = SUPERSEDED
            elif life == "cancelled":
                status = CANCELLED
            elif result == "20":
                status = DECLINED
            elif result in ("10", "40"):
                status = HELD
            else:
                status = CAPTURED if life == "shipped" else AUTHORIZED
            moves = entry["movements"]
            amount = int(tx["billed_amount"])
            out.append(
                ProviderTx(
                    provider=self.code,
                    ref=tx["np_transaction_id"],
                    shop_transaction_no=tx["shop_transaction_id"],
                    status=status,
                    amount=amount,
                    net=amount if status == CAPTURED else 0,
                    captures=int(moves.get("shipment", 0)),
                    cancels=int(moves.get("cancel", 0)),
                )
            )
        return out


class GmoAtobaraiProfile(Profile):
    code = "gmo_atobarai"
    api_path = "/auto/"
    provider_faults = ("system_error",)

    def credentials(self) -> dict[str, str]:
        return {
            "authentication_id": gmo_atobarai.DEFAULT_AUTHENTICATION_ID,
            "shop_code": gmo_atobarai.DEFAULT_SHOP_CODE,
            "connect_password": gmo_atobarai.DEFAULT_CONNECT_PASSWORD,
        }

    def customer(self, base: dict[str, str], outcome: str) -> dict[str, str]:
        # 「NG」 → NG; 「審査」 → 審査中, OK on the second getauthor (docs/sandbox-gmo-atobarai.md).
        words = {OK: "", NG: " NG", REVIEW: " 審査"}
        return {**base, "address": base["address"] + words[outcome]}

    def transactions(self, ledger: Mapping[str, Any]) -> list[ProviderTx]:
        out = []
        for entry in ledger["transactions"]:
            tx = entry["transaction"]
            status = {
                "authorized": AUTHORIZED,
                "in_review": HELD,
                "declined": DECLINED,
                "shipped": CAPTURED,
                "cancelled": CANCELLED,
            }[tx["state"]]
            moves = entry["movements"]
            amount = int(tx["billedAmount"])
            out.append(
                ProviderTx(
                    provider=self.code,
                    ref=tx["gmoTransactionId"],
                    shop_transaction_no=tx["shopTransactionId"],
                    status=status,
                    amount=amount,
                    net=amount if status == CAPTURED else 0,
                    captures=int(moves.get("ship", 0)) - int(moves.get("ship_cancel", 0)),
                    cancels=int(moves.get("cancel", 0)),
                )
            )
        return out


PROFILES: dict[str, type[Profile]] = {
    p.code: p for p in (AtoneProfile, PaidyProfile, NpAtobaraiProfile, GmoAtobaraiProfile)
}
