"""Inbound webhook bodies at rest (the inbox, :class:`kessai.webhooks.models.InboundWebhook`).

A provider notice is stored before it is acknowledged and applied later, and atone's carry the buyer's
``authentication_token`` (which lets a merchant charge the buyer again) and the buyer's personal data. So the raw
body is kept like a credential: AES-GCM under the key ring (:mod:`kessai.shops.keyring`), with associated data that
binds the ciphertext to its row by what is known before the hand-written ``INSERT`` (the integer id is not): the
account and the row's ``dedup_key`` — exactly as stored, so a duplicate's ``…#dup-…`` key. A ciphertext copied onto
another row does not decrypt. ``kessai rotate-keys`` re-encrypts the rows (:func:`rotate`).

The AAD format below is also written out in migration ``webhooks.0004`` (which sealed the former plaintext
column): changing it needs a migration that re-encrypts the rows.
"""

from __future__ import annotations

from kessai.shops.keyring import KeyRing, ring_from_settings


def aad(account_id: int | str, dedup_key: str) -> bytes:
    """``InboundWebhook.body_sealed`` belongs to the row (``account``, ``dedup_key``), unique per account."""
    return f"inbound-webhook-body:{account_id}:{dedup_key}".encode()


def seal(body: str, *, account_id: int | str, dedup_key: str, ring: KeyRing | None = None) -> str:
    """The ciphertext of a notice body under the ring's first key (an empty body is sealed too)."""
    return (ring or ring_from_settings()).encrypt(body.encode("utf-8"), aad=aad(account_id, dedup_key))


def unseal(sealed: str, *, account_id: int | str, dedup_key: str, ring: KeyRing | None = None) -> str:
    """The body a :func:`seal` ciphertext holds; ``KeyRingError`` for another row's ciphertext or a removed key."""
    return (ring or ring_from_settings()).decrypt(sealed, aad=aad(account_id, dedup_key)).decode("utf-8")


def rotate() -> tuple[int, int]:
    """Re-encrypt every stored body under the ring's first key: ``(rotated, total)``."""
    from kessai.webhooks.models import InboundWebhook

    ring = ring_from_settings()
    rotated = total = 0
    rows = InboundWebhook.objects.only("id", "account_id", "dedup_key", "body_sealed").order_by("pk")
    for row in rows.iterator(chunk_size=500):
        total += 1
        if not ring.needs_rotation(row.body_sealed):
            continue
        body = unseal(row.body_sealed, account_id=row.account_id, dedup_key=row.dedup_key, ring=ring)
        sealed = seal(body, account_id=row.account_id, dedup_key=row.dedup_key, ring=ring)
        # conditional, like the buyer tokens': a row changed meanwhile is not overwritten with an older body
        rotated += InboundWebhook.objects.filter(pk=row.pk, body_sealed=row.body_sealed).update(body_sealed=sealed)
    return rotated, total
