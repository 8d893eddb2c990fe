"""The widget checksum (チェックサム), protocol note §3.3 — the emulator's own implementation.

1. drop ``checksum`` from the payment;
2. sort keys ascending at every object level (arrays keep their order);
3. concatenate the values only, depth first: integers in decimal, booleans as ``true``/``false``,
   strings as they are, null as nothing;
4. hash ``secret_key + "," + concatenation`` with SHA-256 (UTF-8);
5. standard Base64 of the raw 32-byte digest.

Kessai's decision 2: :func:`compute_checksum` hashes every key of the mapping it is given; the emulator
accepts a checksum computed with or without ``shop_transaction_no`` and ``transaction_options``
(:func:`checksum_matches`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

CHECKSUM_KEY = "checksum"
# Keys the working plugins add only after hashing (decision 2, variant "without").
KEYS_ADDED_AFTER_HASHING = ("shop_transaction_no", "transaction_options")


def _flatten(value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, Mapping):
        for key in sorted(value):
            _flatten(value[key], out)
    elif isinstance(value, list | tuple):
        for element in value:
            _flatten(element, out)
    else:
        out.append(str(value))


def checksum_source(payment: Mapping[str, Any], secret_key: str) -> str:
    """The exact string that is hashed (exposed for debugging and tests)."""
    parts: list[str] = []
    _flatten({k: v for k, v in payment.items() if k != CHECKSUM_KEY}, parts)
    return secret_key + "," + "".join(parts)


def compute_checksum(payment: Mapping[str, Any], secret_key: str) -> str:
    digest = hashlib.sha256(checksum_source(payment, secret_key).encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


def checksum_matches(payment: Mapping[str, Any], secret_key: str) -> bool:
    """True when ``payment["checksum"]`` matches either accepted variant (decision 2)."""
    given = payment.get(CHECKSUM_KEY)
    if not isinstance(given, str) or not given:
        return False
    without = {k: v for k, v in payment.items() if k not in KEYS_ADDED_AFTER_HASHING}
    candidates = (compute_checksum(payment, secret_key), compute_checksum(without, secret_key))
    return any(hmac.compare_digest(given.encode("ascii", "replace"), c.encode("ascii")) for c in candidates)
