"""Wire types of GMO後払い answers (protocol note), parsed defensively from the XML tree.

Every answer is ``<response><result>OK|NG</result>…</response>``: on NG ``errors{error[{errorCode,
errorMessage}]}``; on OK ``transactionResult{gmoTransactionId, authorResult}`` (registration, modification,
cancel, getauthor) or ``transactionInfo{gmoTransactionId}`` (出荷報告, per the Go client [I]).

Parsing never trusts the provider: an answer without a ``result``, an OK without a transaction id where
one is promised, or an unknown ``authorResult`` raises :class:`MalformedResponse`, which the client turns
into ``ProviderUnavailable`` (closed by default).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kessai.providers.gmo_atobarai import const

__all__ = ["AuthorResult", "ErrorDetail", "MalformedResponse", "Response", "TransactionResult"]


class MalformedResponse(ValueError):
    """The provider's answer is not what the protocol promises."""


class AuthorResult(enum.StrEnum):
    """``authorResult``: OK, NG or the Japanese literal 審査中 [C]."""

    OK = const.AUTHOR_OK
    NG = const.AUTHOR_NG
    IN_REVIEW = const.AUTHOR_IN_REVIEW

    @classmethod
    def parse(cls, value: str) -> AuthorResult:
        try:
            return cls(value.strip())
        except ValueError:
            raise MalformedResponse(f"unknown authorResult {value!r}") from None


def _text(tree: Mapping[str, Any], key: str) -> str:
    value = tree.get(key)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, list) and value and isinstance(value[0], str):  # repeated by mistake: first wins
        return value[0].strip()
    if isinstance(value, Mapping) and not value:
        return ""
    raise MalformedResponse(f"element {key!r} is not text")


def _items(value: Any) -> list[Any]:
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


@dataclass(frozen=True)
class ErrorDetail:
    code: str
    message: str = ""


@dataclass(frozen=True)
class TransactionResult:
    gmo_transaction_id: str
    author_result: AuthorResult | None = None
    shop_transaction_id: str = ""
    reasons: tuple[str, ...] = ()  # 目視審査結果理由 (getauthor, [I])

    @classmethod
    def parse(cls, tree: Any) -> TransactionResult:
        if not isinstance(tree, Mapping):
            raise MalformedResponse("transactionResult is not an element with children")
        raw_result = next((_text(tree, key) for key in const.AUTHOR_RESULT_FIELDS if _text(tree, key)), "")
        reasons: list[str] = []
        for reason in _items(tree.get("reasons")):
            if isinstance(reason, str) and reason:
                reasons.append(reason)
            elif isinstance(reason, Mapping):
                reasons.extend(r for r in (_items(reason.get("reason"))) if isinstance(r, str) and r)
        return cls(
            gmo_transaction_id=_text(tree, "gmoTransactionId"),
            author_result=AuthorResult.parse(raw_result) if raw_result else None,
            shop_transaction_id=_text(tree, "shopTransactionId"),
            reasons=tuple(reasons),
        )


@dataclass(frozen=True)
class Response:
    result: str  # "OK" | "NG"
    errors: tuple[ErrorDetail, ...] = ()
    transaction: TransactionResult | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.result == const.RESULT_OK

    @classmethod
    def parse(cls, tree: Any) -> Response:
        if not isinstance(tree, Mapping):
            raise MalformedResponse("the answer has no elements")
        result = _text(tree, "result")
        if result not in (const.RESULT_OK, const.RESULT_NG):
            raise MalformedResponse(f"result is {result!r}, expected OK or NG")
        errors: list[ErrorDetail] = []
        raw_errors = tree.get("errors")
        if isinstance(raw_errors, Mapping):
            for item in _items(raw_errors.get("error")):
                if isinstance(item, Mapping):
                    errors.append(ErrorDetail(code=_text(item, "errorCode"), message=_text(item, "errorMessage")))
        transaction: TransactionResult | None = None
        for key in ("transactionResult", "transactionInfo"):
            if isinstance(tree.get(key), Mapping):
                transaction = TransactionResult.parse(tree[key])
                break
        return cls(
            result=result,
            errors=tuple(e for e in errors if e.code or e.message),
            transaction=transaction,
            raw=dict(tree),
        )

    def require_transaction(self, *, with_result: bool) -> TransactionResult:
        """The OK answer's transaction (with an ``authorResult`` when ``with_result``), else malformed."""
        if self.transaction is None or not self.transaction.gmo_transaction_id:
            raise MalformedResponse("OK without a gmoTransactionId")
        if with_result and self.transaction.author_result is None:
            raise MalformedResponse("OK without an authorResult")
        return self.transaction
