"""Paidy emulator (written from shared/providers/paidy.md alone; never imports kessai.providers).

from kessai.sandbox.paidy import PaidySandboxConfig, create_app
from kessai.sandbox.server import start_in_thread

app = create_app(PaidySandboxConfig())
server = start_in_thread(app)   # server.url -> http://127.0.0.1:<port>; the API root is server.url + "/"
"""

from kessai.sandbox.paidy.app import PaidySandbox, create_app
from kessai.sandbox.paidy.config import (
    DEFAULT_AUTHORIZATION_DAYS,
    DEFAULT_PORT,
    DEFAULT_PUBLIC_KEY,
    DEFAULT_SECRET_KEY,
    MerchantConfig,
    PaidySandboxConfig,
)
from kessai.sandbox.paidy.operations import TEST_EMAIL_REJECTED, TEST_EMAIL_SUCCESS, TEST_OTP, TEST_PHONE

__all__ = [
    "DEFAULT_AUTHORIZATION_DAYS",
    "DEFAULT_PORT",
    "DEFAULT_PUBLIC_KEY",
    "DEFAULT_SECRET_KEY",
    "TEST_EMAIL_REJECTED",
    "TEST_EMAIL_SUCCESS",
    "TEST_OTP",
    "TEST_PHONE",
    "MerchantConfig",
    "PaidySandbox",
    "PaidySandboxConfig",
    "create_app",
]
