"""The client's address behind trusted reverse proxies.

Behind nginx (deploy/nginx/kessai.conf) every request's ``REMOTE_ADDR`` is the proxy's. With
``KESSAI_TRUSTED_PROXIES`` (addresses or networks, comma-separated, e.g. ``127.0.0.1,10.0.0.0/8``) the address is
read from ``X-Forwarded-For`` instead — but only when the request really came from one of those proxies, and only
the rightmost hop that is not a trusted proxy: everything left of it was written by the client and can be forged.
Used by the login lockout (django-axes, ``AXES_CLIENT_IP_CALLABLE``), the audit log and the ``/metrics`` guard.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """``"127.0.0.1, 10.0.0.0/8"`` → networks; a bad entry is a configuration error (named)."""
    networks = []
    for entry in (part.strip() for part in text.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"KESSAI_TRUSTED_PROXIES: {entry!r} is not an address or network") from exc
    return tuple(networks)


@lru_cache(maxsize=8)
def _trusted(text: str) -> tuple[Network, ...]:
    return parse_networks(text)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: Iterable[Network]) -> bool:
    return any(address in network for network in trusted)


def resolve(meta: Mapping[str, Any], trusted: tuple[Network, ...]) -> str | None:
    """The client address from a request's META (pure: the rule in the module docstring)."""
    remote = str(meta.get("REMOTE_ADDR") or "").strip() or None
    peer = _address(remote) if remote else None
    if peer is None or not trusted or not _is_trusted(peer, trusted):
        return remote
    hops = [hop for hop in str(meta.get("HTTP_X_FORWARDED_FOR") or "").split(",") if hop.strip()]
    client = remote
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return client  # garbage written by someone: stop at the last hop a trusted proxy vouched for
        client = str(address)
        if not _is_trusted(address, trusted):
            return client
    return client


def client_ip(request: HttpRequest) -> str | None:
    return resolve(request.META, _trusted(settings.KESSAI_TRUSTED_PROXIES))
