"""GMO後払い emulator (written from shared/providers/gmo-atobarai.md alone; never imports kessai.providers).

from kessai.sandbox.gmo_atobarai import GmoSandboxConfig, create_app
from kessai.sandbox.server import start_in_thread

app = create_app(GmoSandboxConfig())
server = start_in_thread(app)   # the API root is server.url + "/auto/"
"""

from kessai.sandbox.gmo_atobarai.app import GmoSandbox, create_app
from kessai.sandbox.gmo_atobarai.config import (
    DEFAULT_AUTHENTICATION_ID,
    DEFAULT_CONNECT_PASSWORD,
    DEFAULT_CREDIT_LIMIT,
    DEFAULT_PORT,
    DEFAULT_REVIEW_LOOKUPS,
    DEFAULT_SHOP_CODE,
    GmoSandboxConfig,
    ShopConfig,
)

__all__ = [
    "DEFAULT_AUTHENTICATION_ID",
    "DEFAULT_CONNECT_PASSWORD",
    "DEFAULT_CREDIT_LIMIT",
    "DEFAULT_PORT",
    "DEFAULT_REVIEW_LOOKUPS",
    "DEFAULT_SHOP_CODE",
    "GmoSandbox",
    "GmoSandboxConfig",
    "ShopConfig",
    "create_app",
]
