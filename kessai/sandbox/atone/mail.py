"""The 「Webhook失敗」 notification mail (③Webhook失敗通知先), sent with smtplib.

Without an SMTP server or a notification address the notice is only logged; either way it is
recorded on the delivery (``failure_notice``) so tests and the demo can see it.
"""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from kessai.sandbox.atone.clock import isoformat
from kessai.sandbox.atone.config import AtoneSandboxConfig
from kessai.sandbox.atone.state import WEBHOOK_KIND_LABELS, FailureNotice, WebhookDelivery, WebhookKind

logger = logging.getLogger("kessai.sandbox.atone.mail")

SUBJECT = "【atone】Webhook送信失敗のお知らせ"


def _last_result(delivery: WebhookDelivery) -> str:
    if not delivery.attempts:
        return "未送信"
    last = delivery.attempts[-1]
    if last.status_code is not None:
        return f"HTTPステータス {last.status_code}"
    return f"接続エラー ({last.error})"


def failure_body(delivery: WebhookDelivery) -> str:
    payload = delivery.payload
    if delivery.kind is WebhookKind.PAYMENT:
        subject_line = f"取引ID: {payload.get('id')}\n加盟店取引ID: {payload.get('shop_transaction_no')}"
    else:
        subject_line = f"会員番号: {payload.get('user_no')}"
    last_at = isoformat(delivery.attempts[-1].at) if delivery.attempts else "-"
    return (
        "atone 加盟店ご担当者様\n"
        "\n"
        "以下のWebhookの送信に失敗しました。\n"
        "受信先サーバーの状態と、加盟店管理システムのWebhook設定をご確認ください。\n"
        "\n"
        f"店舗公開可能鍵: {delivery.merchant}\n"
        f"Webhook種別: {WEBHOOK_KIND_LABELS[delivery.kind]}\n"
        f"送信先URL: {delivery.url}\n"
        f"{subject_line}\n"
        f"送信回数: {len(delivery.attempts)}回\n"
        f"最終送信日時: {last_at}\n"
        f"最終結果: {_last_result(delivery)}\n"
        "\n"
        "※このメールは atone サンドボックス (Kessai のテスト用エミュレーター) から送信されています。\n"
    )


def send_failure_notice(config: AtoneSandboxConfig, to: str | None, delivery: WebhookDelivery) -> FailureNotice:
    """Send (or log) the notice for a delivery whose retries are exhausted."""
    if not to:
        logger.warning("Webhook失敗 (no notification address): delivery %s to %s", delivery.id, delivery.url)
        return FailureNotice(to=None, subject=SUBJECT, sent=False, error="no notification address configured")
    if not config.smtp_host:
        logger.warning("Webhook失敗 (no SMTP configured) for %s: delivery %s to %s", to, delivery.id, delivery.url)
        return FailureNotice(to=to, subject=SUBJECT, sent=False, error="no SMTP server configured")
    message = EmailMessage()
    message["Subject"] = SUBJECT
    message["From"] = config.mail_from
    message["To"] = to
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="atone-sandbox.invalid")
    message.set_content(failure_body(delivery))
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.smtp_timeout_seconds) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        logger.warning("could not send the Webhook失敗 mail to %s: %s", to, exc)
        return FailureNotice(to=to, subject=SUBJECT, sent=False, error=f"{type(exc).__name__}: {exc}")
    logger.info("Webhook失敗 mail sent to %s for delivery %s", to, delivery.id)
    return FailureNotice(to=to, subject=SUBJECT, sent=True, error=None)
