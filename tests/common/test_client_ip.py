"""The client's address behind trusted proxies: the pure rule, then /metrics through it (the login lockout through
it: tests/backoffice/test_auth.py)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from kessai.common.client_ip import parse_networks, resolve

PROXIES = parse_networks("127.0.0.1, 10.0.0.0/8, ::1")


def meta(remote: str, forwarded: str | None = None) -> dict[str, str]:
    return {"REMOTE_ADDR": remote, **({"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {})}


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("203.0.113.7", None, "203.0.113.7"),  # direct
        ("203.0.113.7", "198.51.100.1", "203.0.113.7"),  # not from a proxy: the header is the client's own words
        ("127.0.0.1", "198.51.100.1", "198.51.100.1"),  # via nginx
        ("127.0.0.1", "6.6.6.6, 198.51.100.1", "198.51.100.1"),  # a forged left part is ignored
        ("127.0.0.1", "198.51.100.1, 10.1.2.3", "198.51.100.1"),  # two proxies
        ("127.0.0.1", "not-an-address", "127.0.0.1"),  # garbage: the last hop a proxy vouched for
        ("127.0.0.1", "198.51.100.1, junk", "127.0.0.1"),
        ("127.0.0.1", "", "127.0.0.1"),  # a proxy that set no header
        ("127.0.0.1", "10.0.0.5", "10.0.0.5"),  # every hop trusted: the leftmost
        ("::1", " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_the_rightmost_untrusted_hop_is_the_client(remote: str, forwarded: str | None, expected: str) -> None:
    assert resolve(meta(remote, forwarded), PROXIES) == expected


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert resolve(meta("127.0.0.1", "198.51.100.1"), ()) == "127.0.0.1"
    assert resolve({}, PROXIES) is None


def test_a_bad_entry_in_the_setting_is_named() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"'10\.0\.0\.300'"):
        parse_networks("127.0.0.1,10.0.0.300")


@pytest.mark.django_db
def test_metrics_through_a_trusted_proxy_are_not_loopback(client, settings):
    settings.KESSAI_METRICS_TOKEN = ""
    settings.KESSAI_TRUSTED_PROXIES = "127.0.0.1"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.66").status_code == 403
