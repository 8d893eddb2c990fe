"""The atone widget checksum (チェックサム), protocol note §3.3.

1. drop ``checksum`` from the payment;
2. sort keys ascending at every object level (arrays keep their order);
3. walk depth-first, concatenating VALUES only: ints in decimal, bools ``true``/``false``,
   strings as they are; ``None`` is omitted;
4. ``secret_key + "," + concatenation``;
5. SHA-256 of the UTF-8 bytes, standard Base64 of the raw 32-byte digest (44 chars).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from kessai.providers.atone.const import CHECKSUM_EXCLUDED_KEYS

__all__ = ["checksum_source", "compute_checksum", "widget_checksum"]

_CHECKSUM_KEY = "checksum"


def _values(value: Any) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, bool):  # before int: bool is an int subclass
        yield "true" if value else "false"
    elif isinstance(value, int):
        yield str(value)
    elif isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key in sorted(value):
            yield from _values(value[key])
    elif isinstance(value, Sequence):  # str is handled above
        for element in value:
            yield from _values(element)
    else:
        # Floats, Decimals, dates…: the note defines no text form for them. Refuse rather than guess.
        raise TypeError(f"atone checksum: unsupported value type {type(value).__name__}")


def checksum_source(payment: Mapping[str, Any], secret_key: str) -> str:
    """The string that is hashed (exposed for tests and support; it contains the secret key)."""
    body = {key: val for key, val in payment.items() if key != _CHECKSUM_KEY}
    return secret_key + "," + "".join(_values(body))


def compute_checksum(payment: Mapping[str, Any], secret_key: str) -> str:
    """Checksum over EVERY key of ``payment`` except ``checksum`` (decision 2, §3.3)."""
    digest = hashlib.sha256(checksum_source(payment, secret_key).encode("utf-8")).digest()
    return base64.b64encode(digest).decode("ascii")


def widget_checksum(payment: Mapping[str, Any], secret_key: str) -> str:
    """The checksum the adapter puts in a widget payment: computed without ``shop_transaction_no``
    and ``transaction_options`` (decision 2: :data:`~kessai.providers.atone.const.CHECKSUM_EXCLUDED_KEYS`)."""
    hashed = {key: val for key, val in payment.items() if key not in CHECKSUM_EXCLUDED_KEYS}
    return compute_checksum(hashed, secret_key)
