"""Django settings, read from the environment.

Every knob an operator may need comes from an environment variable; the defaults give a
working single-process demo on SQLite (``var/kessai.sqlite3``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("KESSAI_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _local_secret(filename: str, make: str) -> str:
    """A secret generated once per checkout for development and the demo (never for production)."""
    path = VAR_DIR / filename
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(make + "\n")
    path.chmod(0o600)
    return make


DEBUG = env_bool("KESSAI_DEBUG", default=False)
PRODUCTION = env_bool("KESSAI_PRODUCTION", default=False)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or (
    "" if PRODUCTION else _local_secret("django-secret-key", secrets.token_urlsafe(50))
)
if not SECRET_KEY:
    raise RuntimeError("DJANGO_SECRET_KEY must be set when KESSAI_PRODUCTION=1")

# Key ring for provider credentials: "id:base64key,id2:base64key2" — the first key encrypts,
# every key decrypts. See kessai/shops/keyring.py and `kessai rotate-keys`.
KESSAI_SECRET_KEYS = os.environ.get("KESSAI_SECRET_KEYS") or (
    "" if PRODUCTION else _local_secret("secret-keys", "dev1:" + secrets.token_urlsafe(32) + "=")
)
if not KESSAI_SECRET_KEYS:
    raise RuntimeError("KESSAI_SECRET_KEYS must be set when KESSAI_PRODUCTION=1")

# Sandboxes (local emulators) may be targeted by test accounts only when the install allows it.
KESSAI_ALLOW_SANDBOX = env_bool("KESSAI_ALLOW_SANDBOX", default=not PRODUCTION)
# Public base URL of this install, used in webhook URLs and checkout links.
KESSAI_PUBLIC_URL = os.environ.get("KESSAI_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Seconds to wait for a provider before the outcome becomes "unknown".
KESSAI_PROVIDER_TIMEOUT = float(os.environ.get("KESSAI_PROVIDER_TIMEOUT", "10"))
# Leases after which work a dead process left behind is taken over (docs/reliability.md). A provider call still
# pending after KESSAI_OPERATION_LEASE_SECONDS is presumed abandoned: the janitor settles it by asking the
# provider. An Idempotency-Key still in progress after KESSAI_IDEMPOTENCY_LEASE_SECONDS may be taken over by a
# retry. The operation lease must outlast any live provider call.
KESSAI_OPERATION_LEASE_SECONDS = float(os.environ.get("KESSAI_OPERATION_LEASE_SECONDS", "300"))
KESSAI_IDEMPOTENCY_LEASE_SECONDS = float(os.environ.get("KESSAI_IDEMPOTENCY_LEASE_SECONDS", "600"))
if KESSAI_OPERATION_LEASE_SECONDS < 2 * KESSAI_PROVIDER_TIMEOUT:
    raise RuntimeError("KESSAI_OPERATION_LEASE_SECONDS must be at least twice KESSAI_PROVIDER_TIMEOUT")
# Prometheus scrapes of /metrics (web) and of `kessai worker --metrics-port` (workers): with a token, callers must
# send `Authorization: Bearer <token>`; without one only loopback callers are served.
KESSAI_METRICS_TOKEN = os.environ.get("KESSAI_METRICS_TOKEN", "")
# Threads of each worker's 継続課金 due run (the scheduler's billing-run-due job).
KESSAI_BILLING_CONCURRENCY = max(1, int(os.environ.get("KESSAI_BILLING_CONCURRENCY", "1")))

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # the API docs page uses Swagger UI from ninja's static files, not a CDN and an inline script
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "kessai.shops",
    "kessai.payments",
    "kessai.billing",
    "kessai.webhooks",
    "kessai.api",
    "kessai.backoffice",
    "kessai.checkout",
    "kessai.golive",
]

MIDDLEWARE = [
    "kessai.common.logging.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kessai.common.security.SecurityHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",  # before WhiteNoise: static files too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kessai.config.urls"
WSGI_APPLICATION = "kessai.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

DEFAULT_SQLITE = f"sqlite:///{VAR_DIR / 'kessai.sqlite3'}"
# Persistent connections are checked before each request reuses them: after a database restart or failover
# the first request gets a fresh connection instead of a 500 (seen in the fault suite).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", DEFAULT_SQLITE), conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and env_bool(
    "KESSAI_DB_SERVER_SIDE_BINDING", default=True
):
    # Server-side parameter binding lets psycopg prepare the statements a connection keeps repeating (from the 5th
    # run): PostgreSQL then skips parsing and planning them, about a third of its CPU per payment operation
    # (docs/benchmarks.md). 0 goes back to client-side binding, e.g. behind a pooler that cannot keep prepared
    # statements.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE transactions serialise writers, which is what select_for_update gives us on PostgreSQL.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 30}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {
    "default": {
        "BACKEND": os.environ.get("KESSAI_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "bulk", "webhooks", "billing"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"

# Back-office login: django-axes locks a username (from one address) after repeated failures;
# django-otp adds optional TOTP two-factor authentication (see kessai/backoffice/access.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("KESSAI_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("KESSAI_LOGIN_LOCKOUT_HOURS", "0.5"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kessai.backoffice.views.auth.locked_out"
AXES_VERBOSE = False
# Behind a reverse proxy: the proxies whose X-Forwarded-For is believed (kessai/common/client_ip.py). Without it
# every login would come from the proxy's address and the lockout would lock a username for everyone.
KESSAI_TRUSTED_PROXIES = os.environ.get("KESSAI_TRUSTED_PROXIES", "")
AXES_CLIENT_IP_CALLABLE = "kessai.common.client_ip.client_ip"
OTP_TOTP_ISSUER = os.environ.get("KESSAI_OTP_ISSUER", "Kessai")

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("日本語")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise serves from finders in the demo; keep it quiet
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "kessai@localhost")

# KESSAI_HTTPS=1 (default in production): served over HTTPS, by gunicorn itself or behind a TLS proxy that sets
# X-Forwarded-Proto. Secure cookies, HSTS, and the proxy's header trusted. See docs/security.md.
KESSAI_HTTPS = env_bool("KESSAI_HTTPS", default=PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = KESSAI_HTTPS
# A back-office session lasts one working day (KESSAI_SESSION_HOURS), then staff sign in again.
SESSION_COOKIE_AGE = int(float(os.environ.get("KESSAI_SESSION_HOURS", "8")) * 3600)
CSRF_COOKIE_HTTPONLY = True  # pages carry the token (meta tag, form field); no script reads the cookie
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = KESSAI_HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if KESSAI_HTTPS:
    SECURE_HSTS_SECONDS = int(os.environ.get("KESSAI_HSTS_SECONDS", "31536000"))
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("KESSAI_SSL_REDIRECT", default=False)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]

# Structured JSON lines in production (KESSAI_LOG_FORMAT=json), readable lines in development; both redact
# API keys, bearer/basic credentials, webhook secrets and buyer tokens, and carry the request id.
LOG_FORMAT = os.environ.get("KESSAI_LOG_FORMAT", "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "kessai.common.logging.RedactingFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "kessai.common.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": os.environ.get("KESSAI_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
