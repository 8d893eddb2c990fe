"""接続テスト: prove an account's keys work, without moving money.

Success is remembered on the account (``last_test_ok_at``, the go-live checklist reads it); a failure
clears it and goes to the 決済エラーログ like every failed provider call.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from kessai.payments.gateway import provider_for
from kessai.payments.services import record_error
from kessai.providers.base import ConnectionCheck, ProviderAuthError, ProviderError
from kessai.providers.credentials import UnknownProvider
from kessai.shops.models import ProviderAccount


def run_connection_test(account: ProviderAccount) -> ConnectionCheck:
    try:
        check = provider_for(account).test_connection()
    except UnknownProvider:
        return ConnectionCheck(
            ok=False, message=_("この決済会社はこのバージョンのKessaiでは接続テストに対応していません。")
        )
    except ProviderError as exc:
        record_error(None, None, exc, account=account)
        ProviderAccount.objects.filter(pk=account.pk).update(last_test_ok_at=None)
        account.last_test_ok_at = None
        return ConnectionCheck(ok=False, message=exc.message or type(exc).__name__)
    if check.ok:
        now = timezone.now()
        ProviderAccount.objects.filter(pk=account.pk).update(last_test_ok_at=now)
        account.last_test_ok_at = now
    else:
        record_error(None, None, ProviderAuthError(check.message, code="test_connection"), account=account)
        ProviderAccount.objects.filter(pk=account.pk).update(last_test_ok_at=None)
        account.last_test_ok_at = None
    return check
