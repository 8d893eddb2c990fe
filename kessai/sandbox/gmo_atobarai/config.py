"""Configuration of the GMO後払い emulator: shops (加盟店) and the emulator's knobs.

The default shop's credentials are fixed, documented and obviously fake, in the formats the back-office
form accepts (認証ID: 10 digits; 加盟店コード: starts with ``ab``). They are published in
``docs/sandbox-gmo-atobarai.md`` and work only against this emulator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

DEFAULT_PORT = 8104
DEFAULT_AUTHENTICATION_ID = "9990000001"
DEFAULT_SHOP_CODE = "abkessaidemo"
DEFAULT_CONNECT_PASSWORD = "kessai-demo-gmo-pw01"  # noqa: S105 - published demo password, emulator only
# ¥50,000 excluding tax, cumulative (note, [C S21]); the emulator screens tax-included amounts (×1.1).
DEFAULT_CREDIT_LIMIT = 55_000
# A 審査中 transaction is resolved on this getauthor.do lookup (1 = the first lookup resolves it).
DEFAULT_REVIEW_LOOKUPS = 2


@dataclass(frozen=True)
class ShopConfig:
    """One GMO後払い shop: the three values of ``shopInfo``."""

    authentication_id: str
    shop_code: str
    connect_password: str
    name: str = "Kessai デモ店舗"


def default_shop() -> ShopConfig:
    return ShopConfig(DEFAULT_AUTHENTICATION_ID, DEFAULT_SHOP_CODE, DEFAULT_CONNECT_PASSWORD)


@dataclass(frozen=True)
class GmoSandboxConfig:
    """Everything the emulator starts with; ``POST /_sandbox/reset`` returns to exactly this."""

    shops: tuple[ShopConfig, ...] = field(default_factory=lambda: (default_shop(),))
    credit_limit: int = DEFAULT_CREDIT_LIMIT
    review_resolve_lookups: int | None = DEFAULT_REVIEW_LOOKUPS  # None: lookups never resolve a 審査中
    clock_offset_days: int = 0
    random_seed: int | None = None  # seeds transaction ids and the probabilistic 5xx fault
    now: Callable[[], datetime] | None = None  # base clock (aware); the control offset is added to it

    def __post_init__(self) -> None:
        if not self.shops:
            raise ValueError("at least one shop is required")
        keys = [(s.authentication_id, s.shop_code) for s in self.shops]
        if len(set(keys)) != len(keys):
            raise ValueError("shops must have distinct (authentication_id, shop_code)")
        if self.credit_limit < 1:
            raise ValueError("credit_limit must be at least 1")
        if self.review_resolve_lookups is not None and self.review_resolve_lookups < 1:
            raise ValueError("review_resolve_lookups must be at least 1 (or None)")
