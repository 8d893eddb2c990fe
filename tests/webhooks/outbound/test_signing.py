"""Signing against an independent verifier (the HMAC recomputed from the spec)."""

from __future__ import annotations

import base64

from kessai.webhooks.outbound import signing
from tests.webhooks.outbound.verifier import expected_signature, is_signed_by


def test_secret_is_whsec_and_24_or_more_random_bytes():
    secret = signing.generate_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) >= 24
    assert signing.generate_secret() != secret


def test_headers_match_the_spec():
    secret = signing.generate_secret()
    body = '{"type":"payment.captured","data":{"amount":13824,"name":"山田"}}'.encode()

    headers = signing.headers_for([secret], "evt_01JD", 1_700_000_000, body)

    assert headers["webhook-id"] == "evt_01JD"
    assert headers["webhook-timestamp"] == "1700000000"
    assert headers["webhook-signature"] == expected_signature(secret, "evt_01JD", "1700000000", body)
    assert is_signed_by(secret, headers, body)
    assert not is_signed_by(secret, headers, body + b" ")


def test_fixed_vector():
    # key = bytes 0x00..0x1f; HMAC-SHA256 over b'msg_1.1.{"a":1}', computed once with the stdlib.
    secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

    assert signing.sign(secret, "msg_1", 1, b'{"a":1}') == "v1,+R59b7aK4ml1lfraSGHYaFKedLRZLLT37QG1ArtGMzM="


def test_two_secrets_give_two_signatures_both_valid():
    old, new = signing.generate_secret(), signing.generate_secret()
    body = b"{}"

    headers = signing.headers_for([new, old], "evt_1", 1_700_000_000, body)

    assert len(headers["webhook-signature"].split(" ")) == 2
    assert is_signed_by(new, headers, body)
    assert is_signed_by(old, headers, body)
    assert not is_signed_by(signing.generate_secret(), headers, body)


def test_reference_verify_checks_signature_and_tolerance():
    secret = signing.generate_secret()
    headers = signing.headers_for([secret], "evt_1", 1_700_000_000, b"{}")

    assert signing.verify(secret, headers, b"{}", now=1_700_000_100)
    assert not signing.verify(secret, headers, b"{}", now=1_700_000_000 + 301)
    assert not signing.verify(secret, headers, b'{"x":1}', now=1_700_000_000)
