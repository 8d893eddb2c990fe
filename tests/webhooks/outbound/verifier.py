"""An independent Standard-Webhooks verifier, written from the spec with hmac/hashlib only — it does
not import kessai's signing helper, so a mistake there cannot hide here."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def expected_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_") :])
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signatures(headers: Mapping[str, str]) -> list[str]:
    return headers["webhook-signature"].split(" ")


def is_signed_by(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    expected = expected_signature(secret, headers["webhook-id"], headers["webhook-timestamp"], body)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures(headers))
