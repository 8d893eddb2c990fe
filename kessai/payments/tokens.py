"""Buyers' provider tokens at rest (atone / Paidy ``authentication_token``).

A buyer token lets a merchant charge the buyer again server-side, so it is kept like a credential: AES-GCM under
the key ring (:mod:`kessai.shops.keyring`), with associated data that binds each ciphertext to its row, so a
ciphertext copied onto another row does not decrypt. ``kessai rotate-keys`` re-encrypts the rows under the ring's
first key (:func:`kessai.payments.services.rotate_buyer_token_encryption`).

Rows are found by token through :func:`digest`, never by the ciphertext (AES-GCM is randomised).

The AAD formats below are also written out in migration ``payments.0003`` (which encrypted the former plaintext
columns): changing one needs a migration that re-encrypts the rows.
"""

from __future__ import annotations

import hashlib

from kessai.shops.keyring import KeyRing, ring_from_settings


def digest(token: str) -> str:
    """The lookup column: SHA-256 hex of the token ("" for no token).

    Unkeyed on purpose: tokens are high-entropy random strings issued by the provider, so the digest cannot be
    reversed by guessing candidates, and an unkeyed digest stays valid when ``rotate-keys`` changes the ring."""
    return hashlib.sha256(token.encode()).hexdigest() if token else ""


def seal(token: str, *, aad: bytes, ring: KeyRing | None = None) -> str:
    """The ciphertext of ``token`` under the ring's first key ("" for no token)."""
    if not token:
        return ""
    return (ring or ring_from_settings()).encrypt(token.encode(), aad=aad)


def unseal(sealed: str, *, aad: bytes, ring: KeyRing | None = None) -> str:
    """The token a :func:`seal` ciphertext holds ("" for none); ``KeyRingError`` for another row's ciphertext."""
    if not sealed:
        return ""
    return (ring or ring_from_settings()).decrypt(sealed, aad=aad).decode()


def payment_aad(payment_id: str) -> bytes:
    """``Payment.buyer_token_encrypted`` belongs to this payment."""
    return f"payment-buyer-token:{payment_id}".encode()


def buyer_token_aad(account_id: int | str, customer_key: str) -> bytes:
    """``BuyerToken.token_encrypted`` belongs to the row's natural key (``account``, ``customer_key``), which is
    UNIQUE and known before the upsert that writes it (the integer id is not)."""
    return f"buyer-token:{account_id}:{customer_key}".encode()
