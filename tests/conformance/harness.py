"""One harness per provider for the conformance suite: the same scenarios, written once, run against every
provider's emulator through the hub's payment services.

A :class:`ProviderHarness` owns one in-process emulator (``create_app`` + ``start_in_thread``) and knows the
few things that differ between providers:

- the credentials of the emulator's default merchant (the keys of ``kessai.providers.credentials``);
- how to make an order that the emulator screens OK, NG or 保留/審査中 (its documented test triggers);
- how a buyer authorizes at the provider: where the capabilities say ``tokens`` (atone, Paidy), a stored buyer
  token from the emulator's control endpoint, charged through ``start_payment(authentication_token=…)`` →
  ``charge_with_token``; where they say ``server_authorize`` (NP後払い, GMO後払い) the hub screens the order data
  (``start_payment`` → ``authorize``); where they say ``browser_checkout`` (atone, Paidy), what the buyer's
  widget does at the emulator, before the hub's ``confirm_checkout``;
- how to read the emulator's ledger: its state for a transaction and its movement log, in its own words
  (``settle`` / ``capture`` / ``shipment`` / ``ship`` …), so a scenario can assert "exactly one movement".

Everything else — which scenario applies — comes from the adapter's declared ``Capabilities``
(``provider_for(account).capabilities``), never from the provider's name.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import pytest

from kessai.payments import services
from kessai.payments.gateway import provider_for
from kessai.payments.models import Order, Payment
from kessai.providers.base import Capabilities
from kessai.sandbox import atone as atone_sandbox
from kessai.sandbox import gmo_atobarai as gmo_sandbox
from kessai.sandbox import np_atobarai as np_sandbox
from kessai.sandbox import paidy as paidy_sandbox
from kessai.sandbox.server import RunningServer, start_in_thread
from kessai.shops import services as shop_services
from kessai.shops.models import PaymentMethod, ProviderAccount, Shop
from tests import factories

# The factories' default order: 12,800 + 1,024 送料.
AMOUNT = 13824
ITEMS: list[Mapping[str, Any]] = [
    {"sku": "P-1", "name": "1人掛けソファ", "unit_price": 12800, "quantity": 1},
    {"sku": "ship", "name": "送料", "unit_price": 1024, "quantity": 1},
]
ADDRESS = "東京都港区赤坂1-2-3"
# A valid shipment in the hub's carrier vocabulary (kessai.providers.carriers: ヤマト運輸, 12 digits).
CARRIER = "yamato"
SLIP = "1234-5678-9012"
# Above every emulator's buyer / credit limit (atone 50,000; NP後払い and GMO後払い 55,000).
OVER_LIMIT = 60_000


class Outcome(enum.Enum):
    OK = "ok"
    NG = "ng"
    HOLD = "hold"  # 保留: the provider wants corrected data (re-screen)
    REVIEW = "review"  # 審査中: the provider decides later (a lookup settles it)


class Verdict(enum.Enum):
    """A screening answer as the emulator records it, in common words."""

    OK = "ok"
    NG = "ng"
    HELD = "held"  # 保留 or 審査中


@dataclass
class Shopfront:
    """The hub's side of one test: a shop with a test account pointing at the emulator, and its method."""

    shop: Shop
    account: ProviderAccount
    method: PaymentMethod

    @property
    def capabilities(self) -> Capabilities:
        return provider_for(self.account).capabilities


@dataclass
class ProviderHarness(ABC):
    """One provider's emulator and the provider-specific knowledge the scenarios need."""

    code: ClassVar[str]
    # The emulator's API root below ``server.url`` (what the account's ``base_url`` is set to).
    api_path: ClassVar[str]
    # Ledger vocabulary: the movement kind of each money movement, in the emulator's words.
    create_kind: ClassVar[str]
    capture_kind: ClassVar[str]  # the capture, or the shipment report for capture_requires_shipment
    cancel_kind: ClassVar[str]  # a cancel before capture
    cancel_captured_kind: ClassVar[str]  # a cancel after capture (Paidy: a refund of what is left)
    refund_kind: ClassVar[str] = ""
    # What the emulator's ledger calls an authorized / captured / cancelled transaction.
    authorized_state: ClassVar[str]
    captured_state: ClassVar[str]
    cancelled_state: ClassVar[str]

    app: Any = None
    server: RunningServer | None = None
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10.0))

    # ----------------------------------------------------------------------- lifecycle

    @abstractmethod
    def create_app(self) -> Any: ...

    def start(self) -> None:
        self.app = self.create_app()
        self.server = start_in_thread(self.app)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        close: Callable[[], None] | None = getattr(self.app, "close", None)
        if close is not None:
            close()
        self.client.close()

    @property
    def url(self) -> str:
        assert self.server is not None, "emulator not started"
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.url + self.api_path

    # ----------------------------------------------------------------------- control endpoint

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.client.request(method, f"{self.url}/_sandbox{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def reset(self) -> None:
        self.control("POST", "/reset")

    def faults(self, **spec: Any) -> dict[str, Any]:
        answer: dict[str, Any] = self.control("POST", "/faults", spec)
        return answer

    def ledger(self) -> dict[str, Any]:
        answer: dict[str, Any] = self.control("GET", "/ledger")
        return answer

    # ----------------------------------------------------------------------- the hub's side

    @abstractmethod
    def credentials(self) -> dict[str, str]: ...

    def options(self) -> dict[str, Any]:
        return {"capture": "manual"}

    def shopfront(self) -> Shopfront:
        shop = factories.shop(f"{self.code} 適合テストショップ")
        account = shop_services.create_provider_account(
            shop,
            provider=self.code,
            environment="test",
            credentials=self.credentials(),
            options=self.options(),
            base_url=self.base_url,
        )
        method = shop_services.create_payment_method(shop, provider_account=account, code=self.code, name=self.code)
        return Shopfront(shop=shop, account=account, method=method)

    # ----------------------------------------------------------------------- orders and authorization

    def customer(self, outcome: Outcome) -> dict[str, Any]:
        """The buyer of an order that the emulator screens to ``outcome`` (factories' defaults otherwise)."""
        base: dict[str, Any] = dict(factories.order_body()["customer"])
        return {**base, **self.customer_overrides(outcome)}

    @abstractmethod
    def customer_overrides(self, outcome: Outcome) -> dict[str, Any]:
        """Raises ``pytest.skip`` (via :meth:`unsupported`) for an outcome the provider has no trigger for."""

    def order(self, front: Shopfront, outcome: Outcome = Outcome.OK, **overrides: Any) -> Order:
        return factories.order(front.shop, customer=self.customer(outcome), **overrides)

    def buyer_token(self, order: Order) -> str:
        """A stored buyer token for ``order``'s buyer, obtained from the emulator's control endpoint."""
        raise NotImplementedError(f"{self.code} has no buyer tokens")

    def authorize(self, front: Shopfront, order: Order) -> Payment:
        """Authorize ``order`` without a browser, as the capabilities allow: the order data screened
        (``server_authorize``: ``start_payment`` → ``authorize``), else a stored buyer token charged (``tokens``:
        ``start_payment(authentication_token=…)`` → ``charge_with_token``). Exceptions propagate."""
        caps = front.capabilities
        assert caps.server_authorize or caps.tokens, f"{self.code} cannot authorize without a browser"
        token = "" if caps.server_authorize else self.buyer_token(order)
        started = services.start_payment(order, method_ref=front.method.id, actor="test", authentication_token=token)
        assert not started.requires_action
        return started.payment

    def pay_in_browser(self, payment: Payment) -> str:
        """What the buyer's browser checkout does at the provider; returns the transaction id the widget reports."""
        raise NotImplementedError(f"{self.code} has no browser checkout")

    def settle_review(self, ref: str, outcome: Outcome) -> None:
        """Decide a 審査中 transaction at the provider (as its staff would)."""
        raise NotImplementedError(f"{self.code} has no manual review")

    # ----------------------------------------------------------------------- the emulator's ledger

    @abstractmethod
    def _entry_id(self, entry: Mapping[str, Any]) -> str: ...

    @abstractmethod
    def _movement_id(self, movement: Mapping[str, Any]) -> str: ...

    @abstractmethod
    def _entry_state(self, entry: Mapping[str, Any]) -> str: ...

    @abstractmethod
    def _entry_verdict(self, entry: Mapping[str, Any]) -> Verdict: ...

    @abstractmethod
    def _entry_amount(self, entry: Mapping[str, Any]) -> int: ...

    def _entries(self, ledger: Mapping[str, Any]) -> list[dict[str, Any]]:
        return list(ledger["transactions"])

    def entry(self, ref: str) -> dict[str, Any]:
        return next(e for e in self._entries(self.ledger()) if self._entry_id(e) == ref)

    def state_at_provider(self, ref: str) -> str:
        """The emulator's own word for where the transaction stands (``authorized_state`` …)."""
        return self._entry_state(self.entry(ref))

    def verdict(self, ref: str) -> Verdict:
        """The emulator's current screening answer for the transaction."""
        return self._entry_verdict(self.entry(ref))

    def amount_at_provider(self, ref: str) -> int:
        """The transaction's (authorized / billed) amount as the emulator holds it."""
        return self._entry_amount(self.entry(ref))

    def movements(self, ref: str | None = None) -> list[str]:
        """The emulator's movement log (kinds, in order), for one transaction or all of them."""
        log = self.ledger()["movements"]
        return [m["kind"] for m in log if ref is None or self._movement_id(m) == ref]


# --------------------------------------------------------------------------- atone


class AtoneHarness(ProviderHarness):
    code = "atone"
    api_path = "/v1/"
    create_kind = "create"
    capture_kind = "settle"
    cancel_kind = "cancel"
    cancel_captured_kind = "cancel"
    refund_kind = "refund"
    authorized_state = "authorized"
    captured_state = "settled"
    cancelled_state = "cancelled"
    phone = "090-1234-5678"

    def create_app(self) -> Any:
        return atone_sandbox.create_app(atone_sandbox.AtoneSandboxConfig(webhook_retry_delays=(0.05,)))

    def credentials(self) -> dict[str, str]:
        return {"public_key": atone_sandbox.DEFAULT_PUBLIC_KEY, "secret_key": atone_sandbox.DEFAULT_SECRET_KEY}

    def customer_overrides(self, outcome: Outcome) -> dict[str, Any]:
        if outcome is Outcome.NG:
            return {"name": "NPテスト 太郎"}  # docs/sandbox-atone.md: 「NPテスト」 → 与信NG reason 9
        if outcome is not Outcome.OK:
            unsupported(self, "held_state")
        return {"phone": self.phone}

    def buyer_token(self, order: Order) -> str:
        answer = self.control("POST", "/authenticate", {"phone_number": self.phone})
        return str(answer["authentication_token"])

    def pay_in_browser(self, payment: Payment) -> str:
        widget = services.checkout_widget(payment)
        response = self.client.post(
            f"{self.base_url}modal/api/confirm",
            json={
                "pub_key": widget["pub_key"],
                "pre_token": widget.get("pre_token", ""),
                "phone_number": self.phone,
                "payment": widget["payment"],
            },
        )
        assert response.status_code == 200, response.text
        return str(response.json()["response"]["id"])

    def _entry_id(self, entry: Mapping[str, Any]) -> str:
        return str(entry["transaction"]["id"])

    def _movement_id(self, movement: Mapping[str, Any]) -> str:
        return str(movement["transaction_id"])

    def _entry_state(self, entry: Mapping[str, Any]) -> str:
        return str(entry["state"])

    def _entry_verdict(self, entry: Mapping[str, Any]) -> Verdict:
        return {1: Verdict.OK, 2: Verdict.NG}[entry["transaction"]["authorization_result"]]

    def _entry_amount(self, entry: Mapping[str, Any]) -> int:
        return int(entry["transaction"]["amount"])


# --------------------------------------------------------------------------- NP後払い


class NpAtobaraiHarness(ProviderHarness):
    code = "np_atobarai"
    api_path = "/v1/"
    create_kind = "register"
    capture_kind = "shipment"
    cancel_kind = "cancel"
    cancel_captured_kind = "cancel"
    authorized_state = "open"
    captured_state = "shipped"
    cancelled_state = "cancelled"

    def create_app(self) -> Any:
        return np_sandbox.create_app(np_sandbox.NpSandboxConfig())

    def credentials(self) -> dict[str, str]:
        return {
            "merchant_code": np_sandbox.DEFAULT_MERCHANT_CODE,
            "sp_code": np_sandbox.DEFAULT_SP_CODE,
            "terminal_id": np_sandbox.DEFAULT_TERMINAL_ID,
        }

    def customer_overrides(self, outcome: Outcome) -> dict[str, Any]:
        # docs/sandbox-np-atobarai.md: 「保留」 → 10 RE009, 「NG」 → 20 NG999, 「審査」 → 40 (resolved on a lookup).
        words = {Outcome.OK: "", Outcome.NG: " NG", Outcome.HOLD: " 保留", Outcome.REVIEW: " 審査"}
        return {"address": ADDRESS + words[outcome]}

    def settle_review(self, ref: str, outcome: Outcome) -> None:
        result = {Outcome.OK: "00", Outcome.NG: "20"}[outcome]
        self.control("POST", f"/transactions/{ref}/review", {"authori_result": result})

    def _entry_id(self, entry: Mapping[str, Any]) -> str:
        return str(entry["transaction"]["np_transaction_id"])

    def _movement_id(self, movement: Mapping[str, Any]) -> str:
        return str(movement["np_transaction_id"])

    def _entry_state(self, entry: Mapping[str, Any]) -> str:
        return str(entry["state"])

    def _entry_verdict(self, entry: Mapping[str, Any]) -> Verdict:
        return {"00": Verdict.OK, "20": Verdict.NG, "10": Verdict.HELD, "40": Verdict.HELD}[entry["authori_result"]]

    def _entry_amount(self, entry: Mapping[str, Any]) -> int:
        return int(entry["transaction"]["billed_amount"])


# --------------------------------------------------------------------------- Paidy


class PaidyHarness(ProviderHarness):
    code = "paidy"
    api_path = "/"
    create_kind = "authorize"
    capture_kind = "capture"
    cancel_kind = "close"
    cancel_captured_kind = "refund"  # a cancel after capture is a refund of what is left
    refund_kind = "refund"
    authorized_state = "authorized"
    captured_state = "closed"
    cancelled_state = "closed"

    def create_app(self) -> Any:
        return paidy_sandbox.create_app(paidy_sandbox.PaidySandboxConfig(webhook_retry_delays=(0.05,)))

    def credentials(self) -> dict[str, str]:
        return {"public_key": paidy_sandbox.DEFAULT_PUBLIC_KEY, "secret_key": paidy_sandbox.DEFAULT_SECRET_KEY}

    def customer_overrides(self, outcome: Outcome) -> dict[str, Any]:
        # docs/sandbox-paidy.md: rejected.payment@paidy.com → REJECTED; anything else → AUTHORIZED.
        if outcome is Outcome.NG:
            return {"email": paidy_sandbox.TEST_EMAIL_REJECTED}
        if outcome is not Outcome.OK:
            unsupported(self, "held_state")
        return {"email": paidy_sandbox.TEST_EMAIL_SUCCESS, "phone": paidy_sandbox.TEST_PHONE}

    def buyer_token(self, order: Order) -> str:
        """A recurring token approved by this order's buyer (a token payment uses the token's e-mail)."""
        body = {"email": order.customer["email"], "phone": paidy_sandbox.TEST_PHONE, "name1": order.customer["name"]}
        return str(self.control("POST", "/tokens", body)["id"])

    def pay_in_browser(self, payment: Payment) -> str:
        widget = services.checkout_widget(payment)
        answer = self.control("POST", "/checkout", {"payload": widget["payload"]})
        return str(answer["callback"]["id"])

    def _entries(self, ledger: Mapping[str, Any]) -> list[dict[str, Any]]:
        return list(ledger["payments"])

    def _entry_id(self, entry: Mapping[str, Any]) -> str:
        return str(entry["payment"]["id"])

    def _movement_id(self, movement: Mapping[str, Any]) -> str:
        return str(movement["payment_id"])

    def _entry_state(self, entry: Mapping[str, Any]) -> str:
        return str(entry["state"])

    def _entry_verdict(self, entry: Mapping[str, Any]) -> Verdict:
        return Verdict.NG if entry["payment"]["status"] == "REJECTED" else Verdict.OK

    def _entry_amount(self, entry: Mapping[str, Any]) -> int:
        return int(entry["payment"]["amount"])


# --------------------------------------------------------------------------- GMO後払い


class GmoAtobaraiHarness(ProviderHarness):
    code = "gmo_atobarai"
    api_path = "/auto/"
    create_kind = "register"
    capture_kind = "ship"
    cancel_kind = "cancel"
    cancel_captured_kind = "cancel"
    authorized_state = "authorized"
    captured_state = "shipped"
    cancelled_state = "cancelled"

    def create_app(self) -> Any:
        return gmo_sandbox.create_app(gmo_sandbox.GmoSandboxConfig())

    def credentials(self) -> dict[str, str]:
        return {
            "authentication_id": gmo_sandbox.DEFAULT_AUTHENTICATION_ID,
            "shop_code": gmo_sandbox.DEFAULT_SHOP_CODE,
            "connect_password": gmo_sandbox.DEFAULT_CONNECT_PASSWORD,
        }

    def customer_overrides(self, outcome: Outcome) -> dict[str, Any]:
        # docs/sandbox-gmo-atobarai.md: 「NG」 → NG; 「審査」 → 審査中, OK on the resolving getauthor.
        # GMO後払い has no 保留 of its own: its only held state is 審査中, which a re-screen also redoes.
        words = {Outcome.OK: "", Outcome.NG: " NG", Outcome.HOLD: " 審査", Outcome.REVIEW: " 審査"}
        return {"address": ADDRESS + words[outcome]}

    def settle_review(self, ref: str, outcome: Outcome) -> None:
        result = {Outcome.OK: "OK", Outcome.NG: "NG"}[outcome]
        self.control("POST", f"/transactions/{ref}/resolve", {"result": result})

    def _entry_id(self, entry: Mapping[str, Any]) -> str:
        return str(entry["transaction"]["gmoTransactionId"])

    def _movement_id(self, movement: Mapping[str, Any]) -> str:
        return str(movement["gmoTransactionId"])

    def _entry_state(self, entry: Mapping[str, Any]) -> str:
        return str(entry["transaction"]["state"])

    def _entry_verdict(self, entry: Mapping[str, Any]) -> Verdict:
        return {"OK": Verdict.OK, "NG": Verdict.NG, "審査中": Verdict.HELD}[entry["transaction"]["authorResult"]]

    def _entry_amount(self, entry: Mapping[str, Any]) -> int:
        return int(entry["transaction"]["billedAmount"])


HARNESSES: dict[str, type[ProviderHarness]] = {
    h.code: h for h in (AtoneHarness, NpAtobaraiHarness, PaidyHarness, GmoAtobaraiHarness)
}


def unsupported(harness: ProviderHarness, capability: str) -> None:
    """Skip the running scenario: the provider's capabilities exclude it."""
    pytest.skip(f"{harness.code}: capability {capability} is not declared")
