"""The secret scanner shared by the session-wide leak guard (``tests/security/leak_guard.py``) and the
end-to-end scan of real processes (``tests/security/test_secret_scan_processes.py``).

A :class:`SecretRegistry` holds every secret a run created — full API keys, the secret fields of provider
credentials, webhook signing secrets, buyer tokens, the key ring — each with the places it must never appear
in: ``logs`` always; ``db`` for those the design stores only hashed or encrypted (API keys, credentials, the
key ring). :func:`find_leaks` looks for every registered value, as a substring, in texts such as log lines or
database cells, and reports where each one turned up. Reports never print a secret: only its kind, its first
four characters and its length.

Searching thousands of secrets in megabytes of logs one by one is slow, so the registry indexes each secret by
its last 8 characters; a text is cut into tokens (runs of characters that are not whitespace, quotes,
brackets, commas or semicolons), and every 8-character window of every distinct token is looked up in the
index. A secret that itself contains such a separator is searched for directly.
"""

from __future__ import annotations

import re
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIN_LENGTH = 8  # shorter values (a 1-character test secret) cannot be told apart from ordinary text
LOGS = "logs"
DB = "db"
_WINDOW = MIN_LENGTH
_TOKEN = re.compile(r"[^\s\"'<>(){}\[\],;]+")


@dataclass(frozen=True)
class Secret:
    kind: str  # "api_key", "credential:atone.secret_key", "webhook_secret", …
    value: str
    scopes: frozenset[str]

    @property
    def label(self) -> str:
        """What a report shows instead of the value."""
        return f"{self.kind} {self.value[:4]!r}… ({len(self.value)} chars)"


@dataclass(frozen=True)
class Leak:
    secret: Secret
    where: str  # "log: <file or record>", "db: table.column (row …)"
    context: str = ""  # a test id, a line number

    def __str__(self) -> str:
        suffix = f" [{self.context}]" if self.context else ""
        return f"{self.secret.label} found in {self.where}{suffix}"


class SecretRegistry:
    def __init__(self) -> None:
        self._secrets: dict[str, Secret] = {}
        self._by_tail: dict[str, list[Secret]] = defaultdict(list)
        self._odd: list[Secret] = []  # values with a separator in them: searched for directly
        self.api_key_hashes: set[str] = set()

    def __len__(self) -> int:
        return len(self._secrets)

    def __contains__(self, value: object) -> bool:
        return value in self._secrets

    def add(self, kind: str, value: str, *, db: bool) -> Secret | None:
        """Register a secret (once; a later registration may widen its scopes)."""
        if not isinstance(value, str) or len(value) < MIN_LENGTH:
            return None
        scopes = frozenset({LOGS, DB} if db else {LOGS})
        known = self._secrets.get(value)
        if known is not None:
            if scopes <= known.scopes:
                return known
            scopes |= known.scopes
            self._remove(known)
        secret = Secret(kind, value, scopes)
        self._secrets[value] = secret
        if _TOKEN.fullmatch(value):
            self._by_tail[value[-_WINDOW:]].append(secret)
        else:
            self._odd.append(secret)
        return secret

    def _remove(self, secret: Secret) -> None:
        if secret in self._odd:
            self._odd.remove(secret)
        else:
            self._by_tail[secret.value[-_WINDOW:]].remove(secret)

    def secrets(self) -> list[Secret]:
        return list(self._secrets.values())

    def find(self, text: str, scope: str) -> list[Secret]:
        """Every registered secret of ``scope`` that occurs in ``text``."""
        if not text or not self._secrets:
            return []
        found: dict[str, Secret] = {}
        for token in set(_TOKEN.findall(text)):
            for start in range(len(token) - _WINDOW + 1):
                for secret in self._by_tail.get(token[start : start + _WINDOW], ()):
                    if scope in secret.scopes and secret.value in token:
                        found[secret.value] = secret
        for secret in self._odd:
            if scope in secret.scopes and secret.value in text:
                found[secret.value] = secret
        return list(found.values())


def find_leaks(registry: SecretRegistry, texts: Iterable[tuple[str, str]], scope: str, context: str = "") -> list[Leak]:
    """``texts`` are (where, text) pairs; one leak per secret and place."""
    leaks: dict[tuple[str, str], Leak] = {}
    for where, text in texts:
        for secret in registry.find(text, scope):
            leaks.setdefault((secret.value, where), Leak(secret, where, context))
    return list(leaks.values())


# --------------------------------------------------------------------------- sources


def cell_text(value: Any) -> str | None:
    """A database value as text (None for numbers, dates and NULLs: they cannot hold a secret)."""
    if isinstance(value, str):
        return value
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    if isinstance(value, dict | list):
        return repr(value)
    return None


def rows_as_texts(table: str, columns: list[str], rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[str, str]]:
    for number, row in enumerate(rows, 1):
        key = row[0] if row else number
        for column, value in zip(columns, row, strict=False):
            text = cell_text(value)
            if text:
                yield f"db: {table}.{column} (row {key})", text


def dump_sqlite(path: Path) -> Iterator[tuple[str, str]]:
    """Every column of every row of every table of a SQLite file (read-only)."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = connection.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from sqlite_master
            columns = [d[0] for d in cursor.description]
            yield from rows_as_texts(table, columns, cursor)
    finally:
        connection.close()


def dump_postgres(database_url: str) -> Iterator[tuple[str, str]]:
    """Every column of every row of every table in the public schema, as PostgreSQL prints it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        for (table,) in cursor.fetchall():
            cursor.execute(sql.SQL("SELECT * FROM {}").format(sql.Identifier(table)))
            columns = [d.name for d in cursor.description or []]
            yield from rows_as_texts(table, columns, cursor.fetchall())


def log_lines(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            yield f"log: {path.name}:{number}", line
