"""The credit decision (与信審査) and its deterministic test triggers (Kessai's choices, documented in
docs/sandbox-gmo-atobarai.md). The buyer's ``address`` is compared after NFKC (so 「ＮＧ」 matches 「NG」):

| buyer address contains | authorResult | later (getauthor.do) |
| --- | --- | --- |
| 「審査NG」 | 審査中 | NG on the resolving lookup |
| 「審査」 | 審査中 | OK on the resolving lookup |
| 「NG」 | NG | — |
| anything else, amount within the limit | OK | — |

The limit (default ¥55,000 = ¥50,000 + 10% tax, note [C S21]) is cumulative per buyer e-mail over the
shop's open transactions (not cancelled, not NG); above it the answer is NG. The address rules come first.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

REVIEW_NG_MARKER = "審査NG"
REVIEW_MARKER = "審査"
NG_MARKER = "NG"


class AuthorResult(StrEnum):
    OK = "OK"
    NG = "NG"
    IN_REVIEW = "審査中"


@dataclass(frozen=True)
class Screening:
    result: AuthorResult
    final: AuthorResult  # what a 審査中 becomes when resolved (= result otherwise)
    reason: str = ""


def screen(address: str, amount: int, open_amount: int, limit: int) -> Screening:
    """``open_amount``: the buyer's other open transactions (same e-mail) at this shop."""
    text = unicodedata.normalize("NFKC", address)
    if REVIEW_NG_MARKER in text:
        return Screening(AuthorResult.IN_REVIEW, AuthorResult.NG, "目視審査の結果、与信NGとなりました。")
    if REVIEW_MARKER in text:
        return Screening(AuthorResult.IN_REVIEW, AuthorResult.OK, "目視審査の結果、与信OKとなりました。")
    if NG_MARKER in text:
        return Screening(AuthorResult.NG, AuthorResult.NG, "審査基準を満たしていません。")
    if open_amount + amount > limit:
        return Screening(AuthorResult.NG, AuthorResult.NG, "ご利用限度額を超えています。")
    return Screening(AuthorResult.OK, AuthorResult.OK)
