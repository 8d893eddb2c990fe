"""Configuration of the Paidy emulator: merchants and the emulator's knobs.

The default merchant's keys are fixed, documented, obviously fake test keys (``pk_test_…`` /
``sk_test_…``). They are published in ``docs/sandbox-paidy.md`` and work only against this emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_PORT = 8103
DEFAULT_PUBLIC_KEY = "pk_test_kessai_demo_paidy01"
DEFAULT_SECRET_KEY = "sk_test_kessai_demo_paidy01"  # noqa: S105 - published demo key, emulator only
# [I] "expires_at: capture before this; the period is set by contract" (note §2.2). The emulator's default.
DEFAULT_AUTHORIZATION_DAYS = 30
DEFAULT_WEBHOOK_RETRY_DELAYS: tuple[float, ...] = (2.0, 10.0, 30.0)
DEFAULT_WEBHOOK_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class MerchantConfig:
    """One Paidy merchant (加盟店) as set up in the Paidy dashboard."""

    public_key: str
    secret_key: str
    name: str = "Kessai デモストア"
    webhook_url: str | None = None  # the dashboard's notification URL (payment and token events)
    authorization_days: int = DEFAULT_AUTHORIZATION_DAYS  # capture window → ``expires_at``


def default_merchant() -> MerchantConfig:
    return MerchantConfig(public_key=DEFAULT_PUBLIC_KEY, secret_key=DEFAULT_SECRET_KEY)


@dataclass(frozen=True)
class PaidySandboxConfig:
    """Everything the emulator starts with; ``POST /_sandbox/reset`` returns to exactly this."""

    merchants: tuple[MerchantConfig, ...] = field(default_factory=lambda: (default_merchant(),))
    clock_offset_days: int = 0
    webhook_retry_delays: tuple[float, ...] = DEFAULT_WEBHOOK_RETRY_DELAYS
    webhook_timeout_seconds: float = DEFAULT_WEBHOOK_TIMEOUT_SECONDS
    random_seed: int | None = None  # seeds ids and the probabilistic 5xx fault
    now: Callable[[], datetime] | None = None  # base clock (aware); the control offset is added to it

    def __post_init__(self) -> None:
        if not self.merchants:
            raise ValueError("at least one merchant is required")
        public_keys = [m.public_key for m in self.merchants]
        secret_keys = [m.secret_key for m in self.merchants]
        if len(set(public_keys)) != len(public_keys) or len(set(secret_keys)) != len(secret_keys):
            raise ValueError("merchant keys must be unique")
        if any(m.authorization_days < 1 for m in self.merchants):
            raise ValueError("authorization_days must be at least 1")
