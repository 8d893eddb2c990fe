"""Identifier formats observed at atone (protocol note §1)."""

from __future__ import annotations

import random
import re
import string

ALPHANUMERIC = string.ascii_letters + string.digits
TRANSACTION_ID_RE = re.compile(r"^tr_[A-Za-z0-9]{16}$")
TOKEN_RE = re.compile(r"^tk_[A-Za-z0-9]{24}$")


class IdFactory:
    """``tr_`` + 16 alphanumerics, ``tk_`` + 24, and sequential 10-digit ``user_no`` strings."""

    def __init__(self, seed: int | None = None) -> None:
        # A seed makes ids reproducible in tests; otherwise ids come from the OS generator.
        self._random = random.Random(seed) if seed is not None else random.SystemRandom()  # noqa: S311
        self._next_user_no = 1_000_000_001

    def _chars(self, count: int) -> str:
        return "".join(self._random.choice(ALPHANUMERIC) for _ in range(count))

    def transaction_id(self) -> str:
        return "tr_" + self._chars(16)

    def authentication_token(self) -> str:
        return "tk_" + self._chars(24)

    def user_no(self) -> str:
        value = str(self._next_user_no)
        self._next_user_no += 1
        return value
