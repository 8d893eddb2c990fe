"""The payment state machine: a transition table and one function that refuses illegal moves.

    created ─authorize→ authorizing ─→ authorized (与信OK, 仮売上) ─capture→ captured (売上確定)
                                   ├─→ pending_review (与信保留/審査中) ─→ authorized | declined
                                   ├─→ declined (与信NG)
                                   └─→ unknown (timeout: outcome not known) ─refresh→ any of the above
    authorized | pending_review | captured ─cancel→ cancelled (取消済み)   (terminal)
    authorized | captured ─change_amount→ same state, new amount (may re-screen → declined, or → pending_review
                                          when the provider holds the re-screened order; a captured payment
                                          keeps its capture when only the new amount is refused)
    captured ─refund(partial)→ captured with refunded_amount

``authorizing → captured`` is the 即時売上確定 path (authorize and capture in one call);
``authorizing → created`` means the provider refused the request itself (nothing happened there).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class PaymentState(enum.StrEnum):
    CREATED = "created"
    AUTHORIZING = "authorizing"
    AUTHORIZED = "authorized"
    PENDING_REVIEW = "pending_review"
    DECLINED = "declined"
    UNKNOWN = "unknown"
    CAPTURED = "captured"
    CANCELLED = "cancelled"


class Action(enum.StrEnum):
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    CANCEL = "cancel"
    CHANGE_AMOUNT = "change_amount"
    REPORT_SHIPMENT = "report_shipment"
    REFUND = "refund"
    REFRESH = "refresh"
    CHARGE = "charge"


S = PaymentState
_OUTCOMES = frozenset({S.AUTHORIZED, S.PENDING_REVIEW, S.DECLINED, S.UNKNOWN, S.CAPTURED})

TRANSITIONS: Mapping[PaymentState, frozenset[PaymentState]] = {
    S.CREATED: frozenset({S.AUTHORIZING}),
    S.AUTHORIZING: _OUTCOMES | {S.CREATED},  # back to created: the provider refused the request itself
    S.UNKNOWN: frozenset({S.AUTHORIZED, S.PENDING_REVIEW, S.DECLINED, S.CAPTURED, S.CANCELLED}),
    S.PENDING_REVIEW: frozenset({S.AUTHORIZED, S.DECLINED, S.CANCELLED}),
    # authorized → pending_review: an amount change re-screened and the provider holds it (NP 保留)
    S.AUTHORIZED: frozenset({S.CAPTURED, S.CANCELLED, S.DECLINED, S.PENDING_REVIEW}),
    S.CAPTURED: frozenset({S.CANCELLED}),
    S.DECLINED: frozenset(),
    S.CANCELLED: frozenset(),
}

# Which states each staff/API action may start from.
ALLOWED_FROM: Mapping[Action, frozenset[PaymentState]] = {
    Action.AUTHORIZE: frozenset({S.CREATED}),
    Action.CHARGE: frozenset({S.CREATED}),
    Action.CAPTURE: frozenset({S.AUTHORIZED}),
    Action.CANCEL: frozenset({S.AUTHORIZED, S.PENDING_REVIEW, S.CAPTURED}),
    Action.CHANGE_AMOUNT: frozenset({S.AUTHORIZED, S.CAPTURED}),
    Action.REPORT_SHIPMENT: frozenset({S.AUTHORIZED, S.CAPTURED}),
    Action.REFUND: frozenset({S.CAPTURED}),
    Action.REFRESH: frozenset(set(S) - {S.CREATED}),
}

STATE_LABELS: Mapping[PaymentState, StrOrPromise] = {
    S.CREATED: _("未決済"),
    S.AUTHORIZING: _("与信中"),
    S.AUTHORIZED: _("仮売上"),
    S.PENDING_REVIEW: _("保留"),
    S.DECLINED: _("与信NG"),
    S.UNKNOWN: _("要確認"),
    S.CAPTURED: _("売上計上"),
    S.CANCELLED: _("取消済み"),
}

ACTION_LABELS: Mapping[Action, StrOrPromise] = {
    Action.AUTHORIZE: _("与信"),
    Action.CAPTURE: _("売上計上"),
    Action.CANCEL: _("取消"),
    Action.CHANGE_AMOUNT: _("利用額変更"),
    Action.REPORT_SHIPMENT: _("出荷報告"),
    Action.REFUND: _("返金"),
    Action.REFRESH: _("状態確認"),
    Action.CHARGE: _("継続課金"),
}


class InvalidTransition(Exception):
    """The state machine refuses: 409 in the API, a message in the UI."""

    def __init__(self, message: str, *, current: PaymentState, action: str) -> None:
        super().__init__(message)
        self.message = message
        self.current = current
        self.action = action


def check_transition(current: PaymentState, target: PaymentState) -> None:
    if current == target:
        return
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(
            str(_("決済状況「%(current)s」から「%(target)s」には変更できません。"))
            % {"current": STATE_LABELS[current], "target": STATE_LABELS[target]},
            current=current,
            action=f"→{target}",
        )


def ensure_allowed(action: Action, current: PaymentState) -> None:
    if current not in ALLOWED_FROM[action]:
        raise InvalidTransition(
            str(_("決済状況が「%(current)s」のため、%(action)sはできません。"))
            % {"current": STATE_LABELS[current], "action": ACTION_LABELS[action]},
            current=current,
            action=action,
        )
