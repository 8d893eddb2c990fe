"""Configuration of the NP後払い emulator: merchants (加盟店) and the emulator's knobs.

The default merchant's codes are fixed, published, obviously fake strings (``docs/sandbox-np-atobarai.md``)
and must never be accepted anywhere but in this emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_MERCHANT_CODE = "akt0000001"
DEFAULT_SP_CODE = "kessai-demo-np-sp01"
DEFAULT_TERMINAL_ID = "kessai-demo-np-terminal"
# The commonly cited buyer limit (about ¥55,000 tax incl.); above it a registration is NG001.
DEFAULT_CREDIT_LIMIT = 55_000
# A 審査中 (40) transaction is resolved on this authorizations/find lookup (1 = the first find resolves it).
DEFAULT_REVIEW_LOOKUPS = 2
# [I] No source gives NP's limit on re-registrations of one transaction chain (E0131011 exists).
DEFAULT_MAX_REREGISTRATIONS = 10
# "within one month" (note §1.3): the duplicate-registration guard.
DEFAULT_DUPLICATE_WINDOW_DAYS = 30


@dataclass(frozen=True)
class MerchantConfig:
    """One NP後払い merchant: Basic ``merchant_code:sp_code`` and the integrating system's terminal id."""

    merchant_code: str
    sp_code: str
    terminal_id: str
    name: str = "Kessai デモ店舗"


def default_merchant() -> MerchantConfig:
    return MerchantConfig(merchant_code=DEFAULT_MERCHANT_CODE, sp_code=DEFAULT_SP_CODE, terminal_id=DEFAULT_TERMINAL_ID)


@dataclass(frozen=True)
class NpSandboxConfig:
    """Everything the emulator starts with; ``POST /_sandbox/reset`` returns to exactly this."""

    merchants: tuple[MerchantConfig, ...] = field(default_factory=lambda: (default_merchant(),))
    credit_limit: int = DEFAULT_CREDIT_LIMIT
    review_resolve_lookups: int | None = DEFAULT_REVIEW_LOOKUPS  # None: lookups never resolve a review
    review_resolve_seconds: float | None = None  # None: time never resolves a review
    hold_expires_seconds: float | None = None  # a 保留 older than this becomes NG (NG999) on the next find
    max_reregistrations: int = DEFAULT_MAX_REREGISTRATIONS
    duplicate_window_days: int = DEFAULT_DUPLICATE_WINDOW_DAYS
    clock_offset_seconds: float = 0.0
    random_seed: int | None = None  # seeds the probabilistic 5xx fault
    now: Callable[[], datetime] | None = None  # base clock (aware); the control offset is added to it

    def __post_init__(self) -> None:
        if not self.merchants:
            raise ValueError("at least one merchant is required")
        codes = [m.merchant_code for m in self.merchants]
        if len(set(codes)) != len(codes):
            raise ValueError("merchant codes must be unique")
        if self.credit_limit < 1:
            raise ValueError("credit_limit must be at least 1")
        if self.review_resolve_lookups is not None and self.review_resolve_lookups < 1:
            raise ValueError("review_resolve_lookups must be at least 1")
        for name in ("review_resolve_seconds", "hold_expires_seconds"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative")
        if self.max_reregistrations < 1:
            raise ValueError("max_reregistrations must be at least 1")
