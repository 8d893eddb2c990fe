"""Who may see and do what in the back-office.

Every view is wrapped in :func:`staff_view`, which resolves the current shop (session-stored, one of
the user's memberships), enforces two-factor authentication where it applies, and checks the role:
``read`` for GET/HEAD, ``write`` for everything else. Roles rank viewer < operator < owner.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django_otp import user_has_device

from kessai.backoffice import services
from kessai.common.client_ip import client_ip as client_ip
from kessai.shops.models import Membership, Role, Shop

SESSION_SHOP_KEY = "kessai_shop_id"
RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.OWNER: 2}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member in the current shop."""

    shop: Shop
    membership: Membership
    memberships: list[Membership]
    actor: services.Actor

    @property
    def role(self) -> str:
        return self.membership.role

    def can(self, role: str) -> bool:
        return RANK[Role(self.membership.role)] >= RANK[Role(role)]

    @property
    def can_operate(self) -> bool:
        return self.can(Role.OPERATOR)

    @property
    def is_owner(self) -> bool:
        return self.can(Role.OWNER)


def memberships_of(request: HttpRequest) -> list[Membership]:
    return list(
        Membership.objects.filter(user_id=int(request.user.pk or 0)).select_related("shop").order_by("shop__name", "pk")
    )


def current_membership(request: HttpRequest, memberships: list[Membership]) -> Membership | None:
    wanted = request.session.get(SESSION_SHOP_KEY)
    for m in memberships:
        if m.shop_id == wanted:
            return m
    return memberships[0] if memberships else None


def is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


FLASH_TARGET_RE = re.compile(r"#[a-z][a-z0-9-]*")


def flash_target(request: HttpRequest) -> str:
    """Where an htmx request wants messages shown (the 決済情報 dialog has its own region)."""
    wanted = request.headers.get("X-Flash-Target", "")
    return wanted if FLASH_TARGET_RE.fullmatch(wanted) else "#flash"


def refuse(request: HttpRequest, message: str, *, status: int = 403) -> HttpResponse:
    if is_htmx(request):
        response = render(request, "backoffice/partials/refused.html", {"message": message}, status=status)
        response["HX-Retarget"] = flash_target(request)
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "backoffice/refused.html", {"message": message}, status=status)


def _login_redirect(request: HttpRequest, name: str) -> HttpResponse:
    return redirect(f"{reverse(name)}?{urlencode({'next': request.get_full_path()})}")


def role_message(needed: str) -> str:
    if needed == Role.OPERATOR:
        return _("閲覧のみの権限では操作できません。決済の操作はオーナーまたはオペレーターが行ってください。")
    return _("この操作はショップのオーナーのみが行えます。")


def staff_view(
    *, read: str = Role.VIEWER, write: str = Role.OPERATOR
) -> Callable[[Callable[..., HttpResponseBase]], Callable[..., HttpResponseBase]]:
    """Wrap a view ``fn(request, staff, **kwargs)``: login, 2FA, shop and role enforcement."""

    def decorate(fn: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @functools.wraps(fn)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return _login_redirect(request, "backoffice:login")
            if user_has_device(request.user) and not request.user.is_verified():  # type: ignore[attr-defined]
                return _login_redirect(request, "backoffice:login_otp")
            memberships = memberships_of(request)
            membership = current_membership(request, memberships)
            if membership is None:
                return refuse(request, _("所属しているショップがありません。管理者にお問い合わせください。"))
            if services.requires_otp(membership.shop) and not user_has_device(request.user):
                return redirect(f"{reverse('backoffice:otp_setup')}?required=1")
            needed = read if request.method in SAFE_METHODS else write
            staff = Staff(
                shop=membership.shop,
                membership=membership,
                memberships=memberships,
                actor=services.Actor(request.user, client_ip(request)),
            )
            if not staff.can(needed):
                return refuse(request, role_message(needed))
            return fn(request, staff, *args, **kwargs)

        wrapper.staff_roles = (read, write)  # type: ignore[attr-defined]
        return wrapper

    return decorate
