"""Background jobs of the payments app (run by ``kessai worker``). Each is idempotent."""

from __future__ import annotations

import logging
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from kessai.payments import services
from kessai.payments.models import OperationResult, Payment
from kessai.payments.state import Action, InvalidTransition, PaymentState
from kessai.providers import registry
from kessai.providers.base import ProviderError
from kessai.providers.credentials import UnknownProvider

log = logging.getLogger(__name__)


def refresh_in_doubt_payments(limit: int = 100) -> dict[str, int]:
    """The janitor: query the provider for every payment whose last outcome is unknown (or whose
    operation was abandoned mid-call) and settle it; then the registrations whose answer was lost before the
    provider's id was known (:func:`settle_lost_registrations`). Never retries a money movement blindly."""
    settled = failed = 0
    for payment_id in services.resolve_refresh_targets(limit):
        payment = Payment.objects.select_related("account", "order").get(pk=payment_id)
        try:
            services.refresh(payment, actor="janitor")
            settled += 1
        except (ProviderError, InvalidTransition) as exc:
            log.warning("janitor could not refresh %s: %s", payment_id, getattr(exc, "message", exc))
            failed += 1
    return {
        "settled": settled,
        "failed": failed,
        **settle_lost_registrations(limit),
        **report_replacement_shipments(limit),
    }


def report_replacement_shipments(limit: int = 100, *, now: datetime | None = None) -> dict[str, int]:
    """NP後払い re-registers a shipped transaction when its amount changes; the hub then reports the same parcel
    again for the new one, in the same request. Where that request was cut off in between (the web process killed,
    the database restarted), the new transaction waits unshipped while the hub shows 売上確定: report it again here
    (:func:`services.replacement_shipment_targets`). A refusal flags the payment 要確認."""
    counts = {"reshipped": 0, "reship_failed": 0}
    for payment_id in services.replacement_shipment_targets(limit, now=now):
        payment = Payment.objects.select_related("account", "order").get(pk=payment_id)
        done = services.report_replacement_shipment(payment, actor="janitor")
        counts["reshipped" if done.shipment_reported else "reship_failed"] += 1
    return counts


# Providers that refuse a second registration with the same shop_transaction_no (加盟店取引ID) whatever became of the
# first, so that re-sending a registration whose answer was lost is a keyed probe, never a second transaction:
# atone (protocol note §7: declined and cancelled ones count) and GMO後払い (CT0020: every transaction not cancelled).
# Not NP後払い: its guard ignores NG registrations, so a re-send after a lost NG answer registers a second transaction
# (the fault suite found it) — NP's lost registrations go to staff.
KEYED_REGISTRATION_PROVIDERS = frozenset({"atone", "gmo_atobarai"})
_REGISTRATIONS = (Action.AUTHORIZE, Action.CHARGE)


def _server_authorize(code: str) -> bool:
    capabilities = getattr(registry.adapter_class(code), "capabilities", None)
    return bool(capabilities is not None and capabilities.server_authorize)


def settle_lost_registrations(limit: int = 100, *, now: datetime | None = None) -> dict[str, int]:
    """Authorizations and token charges whose answer was lost *before the provider's id was known* (a timeout, a
    dropped answer, a process killed mid-call): ``refresh`` has nothing to ask about. After a grace period (twice
    the operation lease, for the provider's webhook to name the transaction, which settles it on its own):

    - where the provider refuses duplicates (:data:`KEYED_REGISTRATION_PROVIDERS`), re-send it as a keyed probe
      (:func:`services.resend_lost_authorization`, :func:`services.resend_lost_charge` with the token the payment
      was started with): accepted → the first send never arrived and the answer is recorded; refused → flagged
      要確認 by the service;
    - elsewhere (Paidy, NP後払い), flag it 要確認 once: staff look the number up in the provider's console, then
      either ``refresh`` with the transaction id found there or :func:`services.close_unregistered`.

    Token charges of 継続課金 (started without a token on the payment) are left to the billing recovery."""
    now = now or timezone.now()
    before = now - 2 * services.STALE_PENDING_AFTER
    open_results = [OperationResult.UNKNOWN, OperationResult.PENDING]
    candidates = (
        Payment.objects.filter(
            provider_ref="",
            state__in=[PaymentState.AUTHORIZING, PaymentState.UNKNOWN],
            needs_review=False,
            operations__kind__in=_REGISTRATIONS,
            operations__result__in=open_results,
            operations__created_at__lt=before,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )
    counts = {"resent": 0, "flagged": 0, "resend_failed": 0}
    for payment_id in list(candidates[:limit]):
        payment = Payment.objects.select_related("account", "order").get(pk=payment_id)
        open_ops = list(payment.operations.filter(kind__in=_REGISTRATIONS, result__in=open_results))
        if any("reported_ref" in (op.data or {}) for op in open_ops):
            continue  # a browser checkout's confirmation: a read, settled by the buyer or the webhook
        kind = Action.CHARGE if any(op.kind == Action.CHARGE for op in open_ops) else Action.AUTHORIZE
        if kind is Action.CHARGE and not payment.buyer_token:
            continue  # 継続課金: kessai.billing's recovery re-sends it with the subscription's token
        keyed = payment.provider in KEYED_REGISTRATION_PROVIDERS
        try:
            if keyed and kind is Action.CHARGE:
                services.resend_lost_charge(payment, token=payment.buyer_token, actor="janitor")
            elif keyed and _server_authorize(payment.provider):
                services.resend_lost_authorization(payment, actor="janitor")
            else:
                reason = _(
                    "与信の結果が不明で、決済会社の取引IDを受け取っていません。決済会社の管理画面で取引番号%(no)sを確認し、"
                    "取引があれば取引IDを指定して「最新の状態を取得」を、なければ「取引なしとして閉じる」を実行してください。"
                ) % {"no": payment.shop_transaction_no}
                services.flag_for_review(payment, reason)
                counts["flagged"] += 1
                continue
            counts["resent"] += 1
        except (ProviderError, InvalidTransition) as exc:
            log.warning("janitor could not re-send %s: %s", payment_id, getattr(exc, "message", exc))
            counts["resend_failed"] += 1
    return counts


@task(queue_name="default")
def janitor() -> dict[str, int]:
    return refresh_in_doubt_payments()


def held_state_providers(codes: set[str]) -> set[str]:
    """The provider codes among ``codes`` whose adapter declares a 保留/審査中 state (``held_state``)."""
    held: set[str] = set()
    for code in codes:
        try:
            capabilities = getattr(registry.adapter_class(code), "capabilities", None)
        except UnknownProvider:
            continue
        if capabilities is not None and capabilities.held_state:
            held.add(code)
    return held


def refresh_held_payments(limit: int = 100, *, now: datetime | None = None) -> dict[str, int]:
    """与信保留 / 審査中: ask the provider again (与信結果確認) for held payments, least recently updated first,
    so a provider's manual review or a correction made in its console reaches the hub. A payment still held
    after its account's ``hold_timeout_hours`` becomes NG (:func:`services.expire_hold`: cancelled at the
    provider, then declined). Each payment is one refresh, plus one cancel when it expires."""
    now = now or timezone.now()
    held = Payment.objects.filter(state=PaymentState.PENDING_REVIEW).exclude(provider_ref="")
    providers = held_state_providers(set(held.values_list("provider", flat=True).distinct()))
    counts = {"refreshed": 0, "resolved": 0, "expired": 0, "failed": 0}
    ids = list(held.filter(provider__in=providers).order_by("updated_at", "id").values_list("pk", flat=True)[:limit])
    for payment_id in ids:
        payment = Payment.objects.select_related("account", "order").get(pk=payment_id)
        try:
            payment = services.refresh(payment, actor="scheduler")
            counts["refreshed"] += 1
            if payment.state != PaymentState.PENDING_REVIEW:
                counts["resolved"] += 1
            elif services.hold_expired(payment, now=now):
                services.expire_hold(payment, actor="scheduler", now=now)
                counts["expired"] += 1
        except (ProviderError, InvalidTransition) as exc:
            log.warning("could not refresh held payment %s: %s", payment_id, getattr(exc, "message", exc))
            counts["failed"] += 1
    return counts


@task(queue_name="default")
def held_payments() -> dict[str, int]:
    return refresh_held_payments()
