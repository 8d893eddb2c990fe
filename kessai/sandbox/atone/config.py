"""Configuration of the atone emulator: merchants (店舗) and the emulator's knobs.

The default merchant's keys are fixed, documented, obviously fake strings of the same length and
alphabet as real atone keys (about 22 characters of base64url text). They are published in
``docs/sandbox-atone.md`` and must never be accepted anywhere but in this emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_PUBLIC_KEY = "kessai-demo-atone-pk01"
DEFAULT_SECRET_KEY = "kessai-demo-atone-sk01"  # noqa: S105 - published demo key, emulator only
DEFAULT_BUYER_LIMIT = 50_000
DEFAULT_WEBHOOK_RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 30.0)
DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 5.0
DEFAULT_SMTP_TIMEOUT_SECONDS = 10.0
DEFAULT_MAIL_FROM = "webhook-notice@atone-sandbox.invalid"
ALL_TRANSACTION_OPTIONS: tuple[int, ...] = (1, 2, 3)


@dataclass(frozen=True)
class MerchantConfig:
    """One atone store (店舗) as set up in 加盟店管理システム."""

    public_key: str
    secret_key: str
    name: str = "Kessai デモ店舗"
    payment_webhook_url: str | None = None  # ①決済Webhook(与信OK時/NG時)
    authentication_webhook_url: str | None = None  # ②認証Webhook
    failure_notification_email: str | None = None  # ③Webhook失敗通知先
    contract_valid: bool = True  # False: every create answers EATN0360 (no valid service contract)
    transaction_options: tuple[int, ...] = ALL_TRANSACTION_OPTIONS  # contracted options (§4.6)


def default_merchant() -> MerchantConfig:
    return MerchantConfig(public_key=DEFAULT_PUBLIC_KEY, secret_key=DEFAULT_SECRET_KEY)


@dataclass(frozen=True)
class AtoneSandboxConfig:
    """Everything the emulator starts with; ``POST /_sandbox/reset`` returns to exactly this."""

    merchants: tuple[MerchantConfig, ...] = field(default_factory=lambda: (default_merchant(),))
    buyer_limit: int = DEFAULT_BUYER_LIMIT
    clock_offset_days: int = 0
    webhook_retry_delays: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_DELAYS
    webhook_timeout_seconds: float = DEFAULT_WEBHOOK_TIMEOUT_SECONDS
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_timeout_seconds: float = DEFAULT_SMTP_TIMEOUT_SECONDS
    mail_from: str = DEFAULT_MAIL_FROM
    random_seed: int | None = None  # seeds ids and the probabilistic 5xx fault
    now: Callable[[], datetime] | None = None  # base clock (aware); the control offset is added to it

    def __post_init__(self) -> None:
        if not self.merchants:
            raise ValueError("at least one merchant is required")
        public_keys = [m.public_key for m in self.merchants]
        secret_keys = [m.secret_key for m in self.merchants]
        if len(set(public_keys)) != len(public_keys) or len(set(secret_keys)) != len(secret_keys):
            raise ValueError("merchant keys must be unique")
        if self.buyer_limit < 1:
            raise ValueError("buyer_limit must be at least 1")
