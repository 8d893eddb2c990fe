"""``Idempotency-Key`` on every POST (Stripe semantics, invariant 2).

* The first request with a key records ``in_progress`` in its own committed transaction, runs, and
  stores the status and body it produced.
* The same key with the same request (method, path, environment, body) gets the stored status and body
  back, with ``Idempotent-Replayed: true``; nothing runs again.
* The same key with a different request → 409 ``idempotency_key_reused``.
* A duplicate while the first request is still running → 409 ``idempotency_key_in_use``.
* Keys are scoped per shop and kept 24 hours; :func:`purge_expired` (a periodic job) deletes them.

Not stored (the client may retry with the same key): responses to unexpected server errors (500) and
409 ``operation_in_progress`` (another operation held the payment; nothing was attempted).
A request whose process died mid-execution leaves ``in_progress``; after ``STALE_AFTER`` (setting
``KESSAI_IDEMPOTENCY_LEASE_SECONDS``, default 10 minutes) a retry may take it over. That is safe because the key
is recorded on the payment operation the request began: the run that took over finds it and answers with the
payment instead of running the operation again (``services.RequestAlreadyRun``) — by then the janitor may have
settled the first run's operation, and a refund or an amount change would otherwise happen twice.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone
from django.utils.translation import gettext

from kessai.api import problems
from kessai.api.auth import api_key_from_request
from kessai.api.models import IdempotencyKey, IdempotencyStatus
from kessai.payments.services import REQUEST_KEY, RequestKey
from kessai.shops.models import Shop

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY_RE = re.compile(KEY_PATTERN)
TTL = timedelta(hours=24)
STALE_AFTER = timedelta(seconds=settings.KESSAI_IDEMPOTENCY_LEASE_SECONDS)

_NOT_STORED_CODES = frozenset({"operation_in_progress"})


def fingerprint(method: str, path: str, environment: str, body: bytes) -> str:
    """sha256 over method, path (with query), the key's environment and the body. A JSON body is
    canonicalised first (key order and whitespace do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper(), path, environment):
        digest.update(part.encode())
        digest.update(b"\n")
    digest.update(canonical)
    return digest.hexdigest()


class Verdict(enum.Enum):
    EXECUTE = "execute"
    REPLAY = "replay"
    REUSED = "reused"
    IN_USE = "in_use"


@dataclass(frozen=True)
class Begin:
    verdict: Verdict
    record: IdempotencyKey
    taken_over: bool = False  # from a request whose process died (stale in_progress)


def begin(shop: Shop, key: str, fp: str, *, method: str, path: str, now: datetime | None = None) -> Begin:
    """Claim the key for this request, or say why not. Commits before returning."""
    now = now or timezone.now()
    fields = {
        "fingerprint": fp,
        "method": method,
        "path": path[:500],
        "created_at": now,
        "locked_at": now,
        "expires_at": now + TTL,
    }
    if not transaction.get_connection().in_atomic_block:
        # The usual case, a new key: one INSERT committed on its own (autocommit) — one round trip instead of
        # BEGIN, SAVEPOINT, INSERT, RELEASE, COMMIT. A clash with an existing key is decided below, under a lock.
        try:
            return Begin(Verdict.EXECUTE, IdempotencyKey.objects.create(shop=shop, key=key, **fields))
        except IntegrityError:
            pass
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(shop=shop, key=key, **fields)
            return Begin(Verdict.EXECUTE, record)
        except IntegrityError:
            pass
        record = IdempotencyKey.objects.select_for_update().get(shop=shop, key=key)
        expired = record.expires_at <= now
        stale = record.status == IdempotencyStatus.IN_PROGRESS and record.locked_at <= now - STALE_AFTER
        if expired or (stale and record.fingerprint == fp):
            record.fingerprint, record.method, record.path = fp, method, path[:500]
            record.status = IdempotencyStatus.IN_PROGRESS
            record.response_status, record.response_content_type, record.response_body = None, "", ""
            record.locked_at = now
            if expired:
                record.created_at, record.expires_at = now, now + TTL
            record.save()
            return Begin(Verdict.EXECUTE, record, taken_over=stale and not expired)
        if record.fingerprint != fp:
            return Begin(Verdict.REUSED, record)
        if record.status == IdempotencyStatus.IN_PROGRESS:
            return Begin(Verdict.IN_USE, record)
        return Begin(Verdict.REPLAY, record)


def finish(record: IdempotencyKey, response: HttpResponseBase) -> None:
    content = getattr(response, "content", b"")
    IdempotencyKey.objects.filter(pk=record.pk, locked_at=record.locked_at).update(
        status=IdempotencyStatus.DONE,
        response_status=response.status_code,
        response_content_type=response.get("Content-Type", "application/json")[:100],
        response_body=content.decode("utf-8", errors="replace"),
    )


def abandon(record: IdempotencyKey) -> None:
    """Forget the key so that the client may retry it."""
    IdempotencyKey.objects.filter(
        pk=record.pk, locked_at=record.locked_at, status=IdempotencyStatus.IN_PROGRESS
    ).delete()


def replay(record: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(
        record.response_body.encode(),
        status=record.response_status or 200,
        content_type=record.response_content_type or "application/json",
    )
    response[REPLAYED_HEADER] = "true"
    return response


def _should_store(response: HttpResponseBase) -> bool:
    if response.status_code == 500:
        return False
    if response.status_code == 409 and response.get("Content-Type", "").startswith(problems.CONTENT_TYPE):
        try:
            code = json.loads(getattr(response, "content", b"{}")).get("code")
        except ValueError:
            return True
        return code not in _NOT_STORED_CODES
    return True


def idempotent(run: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """ninja "view" decorator: wraps each operation's ``run`` (auth, parsing, handler, errors)."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        raw_key = request.headers.get(HEADER)
        if request.method != "POST" or raw_key is None:
            return run(request, *args, **kwargs)
        api_key = api_key_from_request(request)
        if api_key is None:
            return run(request, *args, **kwargs)  # ninja answers 401
        if not _KEY_RE.fullmatch(raw_key):
            message = gettext("Idempotency-Key は255文字以内の半角英数記号で指定してください。")
            field = problems.FieldProblem(HEADER, "invalid_idempotency_key", message)
            return problems.problem_response(400, "invalid_idempotency_key", detail=message, errors=[field])
        fp = fingerprint(request.method, request.get_full_path(), api_key.environment, request.body)
        started = begin(api_key.shop, raw_key, fp, method=request.method, path=request.get_full_path())
        if started.verdict is Verdict.REPLAY:
            return replay(started.record)
        if started.verdict is Verdict.REUSED:
            detail = gettext(
                "この Idempotency-Key は内容の異なるリクエストで使用されています。新しいキーを使ってください。"
            )
            return problems.problem_response(409, "idempotency_key_reused", detail=detail)
        if started.verdict is Verdict.IN_USE:
            detail = gettext("同じ Idempotency-Key のリクエストを処理中です。完了後に再送してください。")
            return problems.problem_response(409, "idempotency_key_in_use", detail=detail)
        # The payment services record the key on the operation they begin, so that a run that took the key over
        # from a dead process does not repeat an operation that run began (services.RequestAlreadyRun).
        token = REQUEST_KEY.set(RequestKey(f"idem:{started.record.pk}", taken_over=started.taken_over))
        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            abandon(started.record)
            raise
        finally:
            REQUEST_KEY.reset(token)
        if _should_store(response):
            finish(started.record, response)
        else:
            abandon(started.record)
        return response

    return wrapper


def purge_expired(now: datetime | None = None) -> int:
    """Periodic job: delete keys older than 24 hours."""
    deleted, _ = IdempotencyKey.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
