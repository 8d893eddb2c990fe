"""Cursor pagination, newest first.

Ids are prefixed ULIDs (time-ordered), so ``ORDER BY id DESC`` with ``id < cursor`` is stable under
inserts: a new row sorts before every page already read and never shifts a later page.
A page is ``{"data": [...], "has_more": bool, "next_cursor": str | null}``; pass ``next_cursor`` back as
``cursor`` (opaque) or the last id seen as ``starting_after`` (Stripe style).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import Model, QuerySet
from django.utils.translation import gettext
from ninja import Field, Schema
from pydantic import ConfigDict

from kessai.shops.errors import ValidationFailed

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

M = TypeVar("M", bound=Model)
T = TypeVar("T")

_ID_RE = re.compile(r"[a-z]{2,5}_[0-9A-Z]{1,40}")


class PageParams(Schema):
    """Query parameters of a list. Unknown parameters are refused (a mistyped filter must not silently
    return everything)."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="1ページの件数 / page size (1–100)")
    starting_after: str | None = Field(
        None, max_length=60, description="この ID より後(古い側)から / return items after this id"
    )
    cursor: str | None = Field(None, max_length=200, description="前のページの next_cursor / opaque cursor")


def invalid_cursor(field: str = "cursor") -> ValidationFailed:
    return ValidationFailed(
        {field: gettext("cursor が正しくありません。前のページの next_cursor をそのまま指定してください。")},
        code="invalid_cursor",
    )


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(f"v1:{last_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    version, _, last_id = raw.partition(":")
    if version != "v1" or not _ID_RE.fullmatch(last_id):
        raise invalid_cursor()
    return last_id


def _after(params: PageParams, prefix: str, id_of: Callable[[str], str]) -> str | None:
    if params.cursor:
        last_id = decode_cursor(params.cursor)
        if not last_id.startswith(f"{prefix}_"):
            raise invalid_cursor()
        return id_of(last_id)
    if params.starting_after:
        if not _ID_RE.fullmatch(params.starting_after) or not params.starting_after.startswith(f"{prefix}_"):
            raise ValidationFailed(
                {"starting_after": gettext("starting_after には一覧で返された ID を指定してください。")},
                code="invalid_cursor",
            )
        return id_of(params.starting_after)
    return None


@dataclass(frozen=True)
class Page(Generic[T]):
    data: list[T]
    has_more: bool
    next_cursor: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"data": self.data, "has_more": self.has_more, "next_cursor": self.next_cursor}


def paginate(
    qs: QuerySet[M],
    params: PageParams,
    serialize: Callable[[M], T],
    *,
    prefix: str,
    key: str = "id",
    public_id: Callable[[M], str] | None = None,
    parse_id: Callable[[str], str] | None = None,
) -> Page[T]:
    """``qs`` must be ordered by ``-key``; its public ids start with ``prefix_``. ``public_id``/``parse_id``
    translate between the public id and ``key`` when they differ (deliveries expose ``dlv_<pk>``)."""
    after = _after(params, prefix, parse_id or (lambda value: value))
    if after is not None:
        qs = qs.filter(**{f"{key}__lt": after})
    rows = list(qs[: params.limit + 1])
    has_more = len(rows) > params.limit
    rows = rows[: params.limit]
    last = rows[-1] if rows else None
    next_cursor = None
    if has_more and last is not None:
        next_cursor = encode_cursor(public_id(last) if public_id else str(getattr(last, key)))
    return Page(data=[serialize(row) for row in rows], has_more=has_more, next_cursor=next_cursor)
