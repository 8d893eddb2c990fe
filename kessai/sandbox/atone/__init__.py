"""atone emulator (written from shared/providers/atone.md alone; never imports kessai.providers).

from kessai.sandbox.atone import AtoneSandboxConfig, create_app
from kessai.sandbox.server import start_in_thread

app = create_app(AtoneSandboxConfig(buyer_limit=30_000))
server = start_in_thread(app)   # server.url -> http://127.0.0.1:<port>
"""

from kessai.sandbox.atone.app import AtoneSandbox, create_app
from kessai.sandbox.atone.checksum import compute_checksum
from kessai.sandbox.atone.config import (
    DEFAULT_BUYER_LIMIT,
    DEFAULT_PUBLIC_KEY,
    DEFAULT_SECRET_KEY,
    AtoneSandboxConfig,
    MerchantConfig,
)

__all__ = [
    "DEFAULT_BUYER_LIMIT",
    "DEFAULT_PUBLIC_KEY",
    "DEFAULT_SECRET_KEY",
    "AtoneSandbox",
    "AtoneSandboxConfig",
    "MerchantConfig",
    "compute_checksum",
    "create_app",
]
