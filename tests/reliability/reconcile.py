"""Reconciliation of the hub's records against the providers' ledgers — pure functions over plain data.

Input: the hub's payments (with their operations and every provider reference they ever held), the providers'
transactions in common words (:class:`ProviderTx`, read from each emulator's ``/_sandbox/ledger`` by
:mod:`tests.reliability.providers`) and the client's count of API requests left without an answer. Output: a
:class:`Reconciliation` whose ``failures`` must be empty:

- **double movements** — at the provider, more than one capture or cancel of one transaction, more refunds (count
  or yen) than the hub recorded, or more than one live transaction for one order (a second authorization);
- **lost records** — a provider transaction the hub does not know (by id), a hub payment whose provider id the
  provider does not know, an accepted API request whose outcome never became known;
- **unresolved** — an operation still ``unknown`` / ``pending``, or a payment still ``unknown`` / ``authorizing``
  after the janitor;
- **disagreements** — the hub's state or money for a transaction differs from the provider's.

``needs_review`` (要確認) payments are reported, not failed: flagging a case for staff is the designed outcome for
what a provider's API cannot confirm.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

# Common words for a provider transaction's status.
AUTHORIZED, HELD, CAPTURED, CANCELLED, DECLINED, SUPERSEDED = (
    "authorized",
    "held",
    "captured",
    "cancelled",
    "declined",
    "superseded",
)
LIVE = frozenset({AUTHORIZED, HELD, CAPTURED})
# Hub payment states in the same words.
HUB_STATUS = {
    "authorized": AUTHORIZED,
    "pending_review": HELD,
    "captured": CAPTURED,
    "cancelled": CANCELLED,
    "declined": DECLINED,
}
UNRESOLVED_RESULTS = frozenset({"unknown", "pending"})
# Operations that move money or the provider's record, each of which a client asks for explicitly.
INTENDED_KINDS = frozenset({"capture", "cancel", "refund", "change_amount"})
UNRESOLVED_STATES = frozenset({"unknown", "authorizing"})


@dataclass(frozen=True)
class ProviderTx:
    """One transaction in a provider's ledger, in common words. ``net`` is the money the buyer owes now
    (captured minus refunded; 0 unless captured); ``captures`` / ``cancels`` / ``refunds`` count the ledger's
    movements of that kind, ``refunded`` their yen."""

    provider: str
    ref: str
    shop_transaction_no: str
    status: str
    amount: int
    net: int = 0
    captures: int = 0
    cancels: int = 0
    refunds: int = 0
    refunded: int = 0


@dataclass(frozen=True)
class HubOp:
    kind: str
    result: str
    amount: int = 0
    provider_ref: str = ""
    message: str = ""


@dataclass(frozen=True)
class HubPayment:
    id: str
    provider: str
    order: str
    shop_transaction_no: str
    state: str
    amount: int
    captured: int = 0
    refunded: int = 0
    provider_ref: str = ""
    refs: tuple[str, ...] = ()  # every provider id this payment ever held (current, superseded, references)
    needs_review: bool = False
    review_reason: str = ""
    ops: tuple[HubOp, ...] = ()

    @property
    def net(self) -> int:
        return self.captured - self.refunded if self.state == "captured" else 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> HubPayment:
        ops = tuple(HubOp(**{k: op[k] for k in HubOp.__dataclass_fields__ if k in op}) for op in data.get("ops", ()))
        fields = {k: data[k] for k in cls.__dataclass_fields__ if k in data and k != "ops"}
        fields["refs"] = tuple(data.get("refs", ()))
        return cls(**fields, ops=ops)


@dataclass(frozen=True)
class Finding:
    kind: str
    provider: str
    ref: str
    detail: str


@dataclass
class Reconciliation:
    double_movements: list[Finding] = field(default_factory=list)
    lost_records: list[Finding] = field(default_factory=list)
    unresolved: list[Finding] = field(default_factory=list)
    disagreements: list[Finding] = field(default_factory=list)
    needs_review: list[Finding] = field(default_factory=list)
    provider_transactions: int = 0
    hub_payments: int = 0

    @property
    def failures(self) -> list[Finding]:
        return [*self.double_movements, *self.lost_records, *self.unresolved, *self.disagreements]

    def counts(self) -> dict[str, Any]:
        def by_kind(findings: list[Finding]) -> dict[str, int]:
            return dict(sorted(Counter(f.kind for f in findings).items()))

        return {
            "provider_transactions": self.provider_transactions,
            "hub_payments": self.hub_payments,
            "double_movements": len(self.double_movements),
            "double_movements_by_kind": by_kind(self.double_movements),
            "lost_records": len(self.lost_records),
            "lost_records_by_kind": by_kind(self.lost_records),
            "unresolved": len(self.unresolved),
            "unresolved_by_kind": by_kind(self.unresolved),
            "disagreements": len(self.disagreements),
            "disagreements_by_kind": by_kind(self.disagreements),
            "needs_review": len(self.needs_review),
            "needs_review_by_kind": by_kind(self.needs_review),
        }

    def to_json(self, sample: int = 20) -> dict[str, Any]:
        return {
            **self.counts(),
            "examples": [asdict(f) for f in self.failures[:sample]],
            "needs_review_examples": [asdict(f) for f in self.needs_review[:sample]],
        }


def _comparable(status: str, net: int) -> str:
    """A capture refunded to nothing and a cancel after capture move the same money: both read ``cancelled``."""
    return CANCELLED if status == CAPTURED and net == 0 else status


def unresolved(payments: Iterable[HubPayment]) -> list[Finding]:
    """Operations still ``unknown`` / ``pending`` and payments still ``unknown`` / ``authorizing``."""
    out = []
    for p in payments:
        if p.state in UNRESOLVED_STATES:
            out.append(Finding(f"payment_{p.state}", p.provider, p.provider_ref, p.id))
        for op in p.ops:
            if op.result in UNRESOLVED_RESULTS:
                out.append(Finding(f"{op.kind}_{op.result}", p.provider, p.provider_ref, p.id))
    return out


def reconcile(
    hub: Iterable[HubPayment],
    provider_txs: Iterable[ProviderTx],
    *,
    requests_without_outcome: Iterable[str] = (),
    intents: Mapping[tuple[str, str], int] | None = None,
    review_kinds: Mapping[str, str] | None = None,
) -> Reconciliation:
    """``intents`` counts the requests the clients sent per (payment id, operation kind): the hub must not have
    carried out an operation more often than it was asked to (a request run twice, e.g. by a retry that took over
    its Idempotency-Key, is a double movement even when the hub recorded both). ``review_kinds`` maps a text found
    in a 要確認 reason to the kind it is reported as."""
    payments = list(hub)
    txs = list(provider_txs)
    out = Reconciliation(provider_transactions=len(txs), hub_payments=len(payments))

    known: dict[tuple[str, str], HubPayment] = {}
    by_number: dict[tuple[str, str], HubPayment] = {}
    for p in payments:
        for ref in {p.provider_ref, *p.refs} - {""}:
            known[(p.provider, ref)] = p
        by_number[(p.provider, p.shop_transaction_no)] = p
    at_provider = {(t.provider, t.ref): t for t in txs}

    # -- double movements -----------------------------------------------------------------------------------
    live_per_order: dict[tuple[str, str], list[ProviderTx]] = defaultdict(list)
    for t in txs:
        if t.captures > 1:
            out.double_movements.append(Finding("capture", t.provider, t.ref, f"{t.captures} captures"))
        if t.cancels > 1:
            out.double_movements.append(Finding("cancel", t.provider, t.ref, f"{t.cancels} cancels"))
        owner = known.get((t.provider, t.ref)) or by_number.get((t.provider, t.shop_transaction_no))
        if owner is not None:
            mine = [op for op in owner.ops if op.result == "succeeded" and op.provider_ref in ("", t.ref)]
            hub_refunds = [op for op in mine if op.kind == "refund"]
            # Where a cancel after capture is a refund of what is left (Paidy), a succeeded cancel allows one more.
            cancelled = any(op.kind == "cancel" for op in mine)
            allowed_yen = sum(op.amount for op in hub_refunds)
            if t.refunds > len(hub_refunds) + int(cancelled) or (not cancelled and t.refunded > allowed_yen):
                out.double_movements.append(
                    Finding(
                        "refund",
                        t.provider,
                        t.ref,
                        f"provider {t.refunds} refunds ¥{t.refunded:,} / hub {len(hub_refunds)} "
                        f"refunds ¥{allowed_yen:,}{' + cancel' if cancelled else ''}",
                    )
                )
        if t.status in LIVE and _comparable(t.status, t.net) != CANCELLED:
            order = owner.order if owner is not None else t.shop_transaction_no
            live_per_order[(t.provider, order)].append(t)
    if intents is not None:
        for p in payments:
            done = Counter(op.kind for op in p.ops if op.result == "succeeded" and op.kind in INTENDED_KINDS)
            for kind, n in sorted(done.items()):
                asked = intents.get((p.id, kind), 0)
                if n > asked:
                    detail = f"{p.id}: {n} succeeded, {asked} requested"
                    out.double_movements.append(Finding(f"{kind}_executed_twice", p.provider, p.provider_ref, detail))
    for (provider, order), live in sorted(live_per_order.items()):
        if len(live) > 1:
            refs = ", ".join(t.ref for t in live)
            out.double_movements.append(Finding("authorization", provider, order, f"{len(live)} live: {refs}"))

    # -- lost records ---------------------------------------------------------------------------------------
    for t in txs:
        if (t.provider, t.ref) not in known:
            out.lost_records.append(
                Finding("unknown_to_hub", t.provider, t.ref, f"{t.shop_transaction_no} {t.status} ¥{t.amount:,}")
            )
    for p in payments:
        if p.provider_ref and (p.provider, p.provider_ref) not in at_provider:
            out.lost_records.append(Finding("unknown_to_provider", p.provider, p.provider_ref, p.id))
    for request in requests_without_outcome:
        out.lost_records.append(Finding("request_without_outcome", "", "", request))

    out.unresolved.extend(unresolved(payments))

    # -- disagreements --------------------------------------------------------------------------------------
    for p in payments:
        if p.state in UNRESOLVED_STATES:
            continue
        if not p.provider_ref:
            if p.state not in ("created", "declined", "cancelled"):
                out.disagreements.append(Finding("no_provider_id", p.provider, "", f"{p.id} is {p.state}"))
            continue
        t = at_provider.get((p.provider, p.provider_ref))
        if t is None:
            continue  # reported as a lost record
        ours = _comparable(HUB_STATUS.get(p.state, p.state), p.net)
        theirs = _comparable(t.status, t.net)
        if ours != theirs:
            out.disagreements.append(
                Finding("state", p.provider, t.ref, f"{p.id}: hub {p.state} / provider {t.status}")
            )
        elif ours == CAPTURED and p.net != t.net:
            out.disagreements.append(
                Finding("money", p.provider, t.ref, f"{p.id}: hub ¥{p.net:,} / provider ¥{t.net:,}")
            )
        elif ours in (AUTHORIZED, HELD) and p.amount != t.amount:
            detail = f"{p.id}: hub ¥{p.amount:,} / provider ¥{t.amount:,}"
            out.disagreements.append(Finding("amount", p.provider, t.ref, detail))

    # -- 要確認 (reported) --------------------------------------------------------------------------------------
    for p in payments:
        if p.needs_review:
            kind = next((k for text, k in (review_kinds or {}).items() if text in p.review_reason), "other")
            out.needs_review.append(Finding(kind, p.provider, p.provider_ref, f"{p.id}: {p.review_reason[:200]}"))
    return out
