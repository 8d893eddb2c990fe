"""AES-GCM encryption of provider credentials under a key ring.

The ring comes from ``KESSAI_SECRET_KEYS``: ``"id:base64key,id2:base64key2"``. The first key
encrypts; every key decrypts, so a new key can be put first and ``kessai rotate-keys``
re-encrypts every row before the old key is removed.

Ciphertext format (text, safe for any column): ``v1:<key id>:<base64url(nonce || ciphertext)>``.
The associated data binds a ciphertext to its row (e.g. the account id), so a ciphertext copied
onto another row does not decrypt.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12


class KeyRingError(ValueError):
    """The key ring is misconfigured or a ciphertext cannot be decrypted."""


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    try:
        return base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError) as exc:
        raise KeyRingError("key is not valid base64") from exc


@dataclass(frozen=True)
class KeyRing:
    keys: tuple[tuple[str, bytes], ...]  # (id, 32-byte key); the first encrypts

    @classmethod
    def parse(cls, spec: str) -> KeyRing:
        keys: list[tuple[str, bytes]] = []
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            key_id, sep, encoded = part.partition(":")
            if not sep or not key_id or ":" in encoded:
                raise KeyRingError("each key must be written 'id:base64key'")
            raw = _b64decode(encoded)
            if len(raw) != 32:
                raise KeyRingError(f"key {key_id!r} must be 32 bytes (AES-256), got {len(raw)}")
            if any(existing == key_id for existing, _ in keys):
                raise KeyRingError(f"key id {key_id!r} appears twice")
            keys.append((key_id, raw))
        if not keys:
            raise KeyRingError("KESSAI_SECRET_KEYS holds no key")
        return cls(tuple(keys))

    @staticmethod
    def generate_key() -> str:
        return base64.urlsafe_b64encode(os.urandom(32)).decode()

    @property
    def primary_id(self) -> str:
        return self.keys[0][0]

    def _key(self, key_id: str) -> bytes:
        for existing, raw in self.keys:
            if existing == key_id:
                return raw
        raise KeyRingError(f"no key {key_id!r} in the ring (was it removed before rotate-keys ran?)")

    def encrypt(self, plaintext: bytes, *, aad: bytes) -> str:
        key_id, key = self.keys[0]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext, aad)
        return f"{VERSION}:{key_id}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, *, aad: bytes) -> bytes:
        version, _, rest = token.partition(":")
        key_id, _, body = rest.partition(":")
        if version != VERSION or not key_id or not body:
            raise KeyRingError("not a Kessai ciphertext")
        blob = _b64decode(body)
        try:
            return AESGCM(self._key(key_id)).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise KeyRingError("ciphertext does not decrypt (wrong key or wrong row)") from exc

    def key_id_of(self, token: str) -> str:
        return token.split(":", 2)[1] if token.count(":") >= 2 else ""

    def needs_rotation(self, token: str) -> bool:
        return self.key_id_of(token) != self.primary_id

    def encrypt_json(self, values: Mapping[str, str], *, aad: bytes) -> str:
        return self.encrypt(json.dumps(dict(values), ensure_ascii=False).encode(), aad=aad)

    def decrypt_json(self, token: str, *, aad: bytes) -> dict[str, str]:
        data = json.loads(self.decrypt(token, aad=aad))
        if not isinstance(data, dict):
            raise KeyRingError("credentials payload is not an object")
        return {str(k): str(v) for k, v in data.items()}


def ring_from_settings() -> KeyRing:
    from django.conf import settings  # imported late: the ring itself stays framework-free

    return KeyRing.parse(settings.KESSAI_SECRET_KEYS)
