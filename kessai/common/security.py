"""The Content-Security-Policy and Permissions-Policy of every response (Django 5.2 has no CSP of its own).

The other security headers come from Django itself, configured in ``kessai/config/settings.py``:
``SecurityMiddleware`` (X-Content-Type-Options, Referrer-Policy, Cross-Origin-Opener-Policy and, on HTTPS
with ``KESSAI_HTTPS=1``, Strict-Transport-Security) and ``XFrameOptionsMiddleware`` (X-Frame-Options: DENY).

The default policy fits every page Kessai renders itself — the back-office, 本番開始チェック, 継続課金, the API
docs (Swagger UI served from our static files), the login pages and Django's admin: scripts and stylesheets
only from this origin, no inline script or ``style=""`` attribute, no plugin, no framing. A view with needs of
its own sets the header itself and this middleware leaves it alone: the hosted checkout ``/pay/<token>``
adds the provider's widget host (``kessai.checkout.page.content_security_policy``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

CSP_HEADER = "Content-Security-Policy"
PERMISSIONS_HEADER = "Permissions-Policy"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"


def render_policy(directives: Mapping[str, Sequence[str]]) -> str:
    """``{"img-src": ["'self'", "data:"]}`` → ``img-src 'self' data:``; empty sources are dropped."""
    return "; ".join(f"{name} {' '.join(s for s in sources if s)}".strip() for name, sources in directives.items())


def default_directives(*, https: bool) -> dict[str, list[str]]:
    # Banner images (支払方法, 決済項目の文言) are the shop's own URLs on any host; over plain HTTP (a local demo
    # with sandbox banners) http: images are allowed too.
    images = ["'self'", "data:", "https:"] + ([] if https else ["http:"])
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": images,
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-src": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }


def default_policy() -> str:
    return render_policy(default_directives(https=bool(getattr(settings, "KESSAI_HTTPS", False))))


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if CSP_HEADER not in response:
            response[CSP_HEADER] = default_policy()
        if PERMISSIONS_HEADER not in response:
            response[PERMISSIONS_HEADER] = PERMISSIONS_POLICY
        return response
