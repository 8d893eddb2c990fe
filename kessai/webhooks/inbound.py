"""Inbound provider webhooks (invariant 4): stored before they are acknowledged, deduplicated, applied
idempotently and in any order by the worker.

``POST /hooks/<provider>/<account_id>/<kind>?token=…`` (the URLs of ``shops.services.webhook_urls``):

1. :func:`authorised_account` — the account's unguessable token, compared in constant time; a mismatch
   is a 404 and nothing is stored.
2. :func:`receive` — the delivery is stored (headers, and the raw body sealed under the key ring:
   :mod:`.sealing`) under a dedup key (the provider's ``parse_webhook(...).dedup_key``, else a SHA-256 of
   kind and body) and acknowledged; a repeated delivery is stored as ``duplicate`` and not applied again.
   Processing is enqueued on commit.
3. :func:`process` — the notice is a hint, never trusted: a payment notice is confirmed with the
   provider (取引参照) and applied through ``payments.services`` only; an authentication notice stores the
   buyer's token. :func:`process_due` (the worker's periodic sweeper) picks up rows whose task was lost
   and retries transient failures with backoff.

Statuses: ``received`` → ``applied`` | ``ignored`` | ``failed``; ``duplicate`` at receipt. A transient
failure (provider unavailable, payment busy) leaves the row ``received`` for a retry, until
:data:`MAX_ATTEMPTS`; every failure to apply ends ``failed`` with the error and a 決済エラーログ entry
(failed provider calls are logged by the services as they happen).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kessai.payments import selectors, services
from kessai.payments.models import Operation, OperationResult, Payment
from kessai.payments.state import InvalidTransition, PaymentState
from kessai.providers.base import (
    Provider,
    ProviderError,
    ProviderRequestInvalid,
    ProviderStatus,
    ProviderUnavailable,
    TransactionSnapshot,
    WebhookEvent,
)
from kessai.shops.keyring import KeyRingError
from kessai.shops.models import ProviderAccount
from kessai.webhooks import adoption, sealing
from kessai.webhooks.models import InboundStatus, InboundWebhook

log = logging.getLogger(__name__)

KINDS = ("payment", "authentication")
ACTOR = "webhook"
MAX_ATTEMPTS = 8
# A fresh row is left to its enqueued task for this long before the sweeper takes it.
SWEEP_GRACE = timedelta(seconds=20)
RETRY_BASE = timedelta(seconds=30)
RETRY_CAP = timedelta(hours=1)
# Headers not worth keeping (and never credentials).
DROPPED_HEADERS = frozenset({"cookie", "authorization", "proxy-authorization"})
_DUMMY_TOKEN = secrets.token_urlsafe(32)


# --------------------------------------------------------------------------- receiving


def authorised_account(provider: str, account_id: str, token: str) -> ProviderAccount | None:
    """The account the URL names, if the token is its webhook token (constant-time comparison)."""
    account = _account(provider, account_id)
    expected = account.webhook_token if account is not None else _DUMMY_TOKEN
    if not hmac.compare_digest(token.encode("utf-8"), expected.encode("utf-8")) or account is None:
        return None
    return account


# The receiving path is the hub's hottest (docs/benchmarks.md, webhook ingestion): its two statements are written
# out rather than built by the ORM, whose query compilation cost more CPU than everything else the view does.
def _account(provider: str, account_id: str) -> ProviderAccount | None:
    table = connection.ops.quote_name(ProviderAccount._meta.db_table)
    sql = f"SELECT * FROM {table} WHERE id = %s AND provider = %s"  # noqa: S608 - the model's table, values bound
    return next(iter(ProviderAccount.objects.raw(sql, [account_id, provider])), None)


def _insert(
    account: ProviderAccount, kind: str, headers: dict[str, str], body_sealed: str, dedup_key: str
) -> int | None:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id``: the new row's id, or None when the account already has a
    row with this dedup key. One statement, committed on its own outside a transaction; never raises on a
    duplicate, so it needs no savepoint inside one either. ``body_sealed`` is bound to (account, dedup_key)."""
    meta = InboundWebhook._meta
    values = {
        "account_id": account.pk,
        "provider": account.provider,
        "kind": kind,
        "headers": meta.get_field("headers").get_db_prep_save(headers, connection),
        "body_sealed": body_sealed,
        "dedup_key": dedup_key,
        "status": InboundStatus.RECEIVED.value,
        "attempts": 0,
        "error": "",
        "received_at": meta.get_field("received_at").get_db_prep_save(timezone.now(), connection),
    }
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(c) for c in values)}) "  # noqa: S608 - names from the model
        f"VALUES ({', '.join(['%s'] * len(values))}) ON CONFLICT DO NOTHING RETURNING {qn(str(meta.pk.column))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(values.values()))
        row = cursor.fetchone()
    return int(row[0]) if row else None


def body_digest(kind: str, body: bytes) -> str:
    return hashlib.sha256(kind.encode("utf-8") + b"\n" + body).hexdigest()


def _provider(account: ProviderAccount) -> Provider:
    from kessai.payments.gateway import provider_for  # the one place credentials are decrypted for use

    return provider_for(account)


def _dedup_key(account: ProviderAccount, kind: str, headers: Mapping[str, str], body: bytes) -> str:
    try:
        key = _provider(account).parse_webhook(kind, headers, body).dedup_key
    except (ProviderError, KeyRingError):
        key = ""  # unreadable now (and later): stored anyway, fails when processed, keyed by its bytes
    return (key or body_digest(kind, body))[:100]


def receive(account: ProviderAccount, kind: str, headers: Mapping[str, str], body: bytes) -> InboundWebhook:
    """Store one delivery (before it is acknowledged) and enqueue its processing on commit."""
    dedup_key = _dedup_key(account, kind, headers, body)
    kept = {k: v for k, v in headers.items() if k.lower() not in DROPPED_HEADERS}
    text = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    fields = {"account": account, "provider": account.provider, "kind": kind, "headers": kept}
    sealed = sealing.seal(text, account_id=account.pk, dedup_key=dedup_key)
    pk = _insert(account, kind, kept, sealed, dedup_key)
    if pk is None:
        first = InboundWebhook.objects.filter(account=account, dedup_key=dedup_key).values_list("pk", flat=True).first()
        dup_key = f"{dedup_key}#dup-{secrets.token_hex(8)}"  # the body is sealed to the key the row is stored with
        return InboundWebhook.objects.create(
            dedup_key=dup_key,
            body_sealed=sealing.seal(text, account_id=account.pk, dedup_key=dup_key),
            status=InboundStatus.DUPLICATE,
            processed_at=timezone.now(),
            error=_("重複した通知です(最初の受信: #%(first)s)。") % {"first": first},
            **fields,
        )
    transaction.on_commit(lambda: _enqueue(pk))
    return InboundWebhook(pk=pk, dedup_key=dedup_key, body_sealed=sealed, **fields)


def _enqueue(inbound_id: int) -> None:
    from kessai.webhooks.tasks import process_inbound_webhook

    try:
        process_inbound_webhook.enqueue(inbound_id)
    except DatabaseError:
        # The row is stored; the sweeper (process_due) applies it.
        log.warning("could not enqueue inbound webhook %s; the sweeper will process it", inbound_id)


# --------------------------------------------------------------------------- processing


@dataclass(frozen=True)
class Applied:
    status: InboundStatus
    note: str = ""


class Retry(Exception):
    """Transient: try again later (the row stays ``received``)."""


class Failure(Exception):
    """The notice cannot be applied. ``code`` goes to the 決済エラーログ unless ``logged``."""

    def __init__(self, message: str, *, code: str, logged: bool = False, payment: Payment | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.logged = logged
        self.payment = payment


def process(inbound_id: int) -> str:
    """Apply one stored notice. Safe to run twice and concurrently: an attempt is claimed by bumping
    ``attempts`` conditionally, and everything it does goes through idempotent services."""
    row = InboundWebhook.objects.select_related("account", "account__shop").filter(pk=inbound_id).first()
    if row is None:
        return "missing"
    if row.status != InboundStatus.RECEIVED:
        return str(row.status)
    claimed = InboundWebhook.objects.filter(pk=row.pk, status=InboundStatus.RECEIVED, attempts=row.attempts).update(
        attempts=F("attempts") + 1, processed_at=timezone.now()
    )
    if not claimed:
        return "claimed"
    row.attempts += 1
    try:
        result = _apply(row)
    except Retry as exc:
        if row.attempts < MAX_ATTEMPTS:
            _finish(row, InboundStatus.RECEIVED, str(exc))
            return "retry"
        failure = Failure(
            _("%(count)s回試みましたが適用できませんでした: %(reason)s") % {"count": row.attempts, "reason": exc},
            code=f"webhook:{row.kind}:gave_up",
        )
        _fail(row, failure)
        return str(InboundStatus.FAILED)
    except Failure as failure:
        _fail(row, failure)
        return str(InboundStatus.FAILED)
    _finish(row, result.status, result.note)
    return str(result.status)


def process_due(limit: int = 100) -> dict[str, int]:
    """The sweeper: ``received`` rows whose task was lost (older than the grace period) or whose last
    transient failure has waited out its backoff."""
    now = timezone.now()
    counts: dict[str, int] = {}
    candidates = (
        InboundWebhook.objects.filter(status=InboundStatus.RECEIVED)
        .filter(Q(processed_at__isnull=True, received_at__lt=now - SWEEP_GRACE) | Q(processed_at__isnull=False))
        .order_by("received_at", "pk")
        .values_list("pk", "attempts", "processed_at")[: limit * 4]
    )
    due = [pk for pk, attempts, last in candidates if last is None or last <= now - _backoff(attempts)][:limit]
    for pk in due:
        outcome = process(pk)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def _backoff(attempts: int) -> timedelta:
    delay: timedelta = RETRY_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, RETRY_CAP)


def _finish(row: InboundWebhook, status: InboundStatus, note: str) -> None:
    InboundWebhook.objects.filter(pk=row.pk).update(status=status, error=note[:1000], processed_at=timezone.now())


def _fail(row: InboundWebhook, failure: Failure) -> None:
    _finish(row, InboundStatus.FAILED, failure.message)
    if not failure.logged:
        services.record_error(
            failure.payment,
            None,
            ProviderRequestInvalid(failure.message, code=failure.code[:80], payload={"inbound_webhook": row.pk}),
            account=row.account,
            status="webhook",
        )


def _apply(row: InboundWebhook) -> Applied:
    account = row.account
    try:
        body = row.body
    except KeyRingError as exc:  # its key was removed from the ring, or the ciphertext is not this row's
        raise Failure(_("受信した通知の本文を復号できません。"), code="webhook:body_unreadable") from exc
    try:
        provider = _provider(account)
        event = provider.parse_webhook(row.kind, row.headers or {}, body.encode("utf-8"))
    except ProviderError as exc:
        raise Failure(exc.message, code=exc.code or f"webhook:{row.kind}:unreadable") from exc
    except KeyRingError as exc:
        raise Failure(_("外部連携アカウントの認証情報を復号できません。"), code="webhook:credentials") from exc
    if event.kind == "authentication":
        return _apply_authentication(account, event)
    return _apply_payment(account, event)


def _apply_authentication(account: ProviderAccount, event: WebhookEvent) -> Applied:
    stored = services.record_authentication(account, token=event.buyer_token, buyer_id=event.buyer_id)
    if stored is None:
        return Applied(InboundStatus.IGNORED, _("購入者を特定できないため、認証トークンは保存していません。"))
    return Applied(InboundStatus.APPLIED, _("認証トークンを保存しました。"))


def _apply_payment(account: ProviderAccount, event: WebhookEvent) -> Applied:
    try:
        snap = services.lookup_transaction(account, event.provider_ref)  # the body is only a hint
    except ProviderUnavailable as exc:
        raise Retry(exc.message) from exc
    except ProviderError as exc:
        raise Failure(exc.message, code=exc.code, logged=True) from exc
    shop = account.shop
    payment = selectors.find_payment_by_ref(shop, account, snap.provider_ref) or (
        selectors.find_payment_by_transaction_no(shop, account, snap.shop_transaction_no)
    )
    try:
        if payment is None:
            return _adopt(account, snap)
        return _settle(payment, snap)
    except ProviderUnavailable as exc:
        raise Retry(exc.message) from exc
    except ProviderError as exc:
        raise Failure(exc.message, code=exc.code, logged=True, payment=payment) from exc
    except InvalidTransition as exc:
        if payment is not None and _busy(payment):
            raise Retry(exc.message) from exc
        raise Failure(exc.message, code="webhook:payment:conflict", payment=payment) from exc


def _adopt(account: ProviderAccount, snap: TransactionSnapshot) -> Applied:
    if snap.status in (ProviderStatus.DECLINED, ProviderStatus.CANCELLED):
        return Applied(
            InboundStatus.IGNORED,
            _("Kessaiに記録のない取引(%(ref)s)ですが、%(status)sのため注文は作成しません。")
            % {"ref": snap.provider_ref, "status": snap.status.value},
        )
    payment = services.adopt_provider_transaction(
        account, snap, actor=ACTOR, order=adoption.order_fields(account.provider, snap)
    )
    note = _("通知から決済 %(payment)s を作成しました(要確認)。") % {"payment": payment.pk}
    return Applied(InboundStatus.APPLIED, note)


def _settle(payment: Payment, snap: TransactionSnapshot) -> Applied:
    if payment.state == PaymentState.CREATED:
        services.confirm_checkout(payment, provider_ref=snap.provider_ref, actor=ACTOR)
        return Applied(InboundStatus.APPLIED, _("決済 %(payment)s を確定しました。") % {"payment": payment.pk})
    if snap.provider_ref in (payment.provider_ref, *payment.superseded_refs):
        if snap.provider_ref != payment.provider_ref:
            return Applied(InboundStatus.APPLIED, _("更新前の取引の通知です(反映済み)。"))
        if services.matches_snapshot(payment, snap):
            return Applied(InboundStatus.APPLIED, _("反映済みです。"))
        services.refresh(payment, actor=ACTOR)
        return Applied(InboundStatus.APPLIED, _("最新の状態を反映しました。"))
    if services.awaiting_provider_ref(payment):
        services.refresh(payment, actor=ACTOR, provider_ref=snap.provider_ref)
        return Applied(InboundStatus.APPLIED, _("結果不明だった処理の取引を反映しました。"))
    if _busy(payment):
        raise Retry(_("この決済は処理中です。"))
    reason = _("決済会社から通知された取引%(ref)sは、この決済の取引(%(ours)s)と異なります。") % {
        "ref": snap.provider_ref,
        "ours": payment.provider_ref or "-",
    }
    services.flag_for_review(payment, reason)
    raise Failure(reason, code="webhook:payment:unexpected_transaction", payment=payment)


def _busy(payment: Payment) -> bool:
    """An operation is in flight right now (another worker, or the buyer's browser confirming)."""
    fresh = timezone.now() - services.STALE_PENDING_AFTER
    return (
        Payment.objects.filter(pk=payment.pk, state=PaymentState.AUTHORIZING).exists()
        or Operation.objects.filter(payment=payment, result=OperationResult.PENDING, created_at__gte=fresh).exists()
    )
