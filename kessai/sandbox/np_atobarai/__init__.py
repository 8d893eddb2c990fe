"""NP後払い emulator (written from shared/providers/np-atobarai.md alone; never imports kessai.providers).

from kessai.sandbox.np_atobarai import NpSandboxConfig, create_app
from kessai.sandbox.server import start_in_thread

app = create_app(NpSandboxConfig(review_resolve_lookups=1))
server = start_in_thread(app)   # server.url -> http://127.0.0.1:<port>; the API is at server.url + "/v1/"
"""

from kessai.sandbox.np_atobarai.app import NpAtobaraiSandbox, create_app
from kessai.sandbox.np_atobarai.config import (
    DEFAULT_CREDIT_LIMIT,
    DEFAULT_MERCHANT_CODE,
    DEFAULT_REVIEW_LOOKUPS,
    DEFAULT_SP_CODE,
    DEFAULT_TERMINAL_ID,
    MerchantConfig,
    NpSandboxConfig,
)

__all__ = [
    "DEFAULT_CREDIT_LIMIT",
    "DEFAULT_MERCHANT_CODE",
    "DEFAULT_REVIEW_LOOKUPS",
    "DEFAULT_SP_CODE",
    "DEFAULT_TERMINAL_ID",
    "MerchantConfig",
    "NpAtobaraiSandbox",
    "NpSandboxConfig",
    "create_app",
]
