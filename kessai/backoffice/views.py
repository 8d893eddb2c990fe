"""Back-office views: thin — they read through selectors and act through services."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from kessai.payments import selectors
from kessai.shops.models import Membership


@login_required
def home(request: HttpRequest) -> HttpResponse:
    memberships = Membership.objects.filter(user_id=request.user.pk).select_related("shop").order_by("shop__name")
    shops = [
        {"membership": m, "orders": list(selectors.orders(m.shop).prefetch_related("payments")[:20])}
        for m in memberships
    ]
    return render(request, "backoffice/home.html", {"shops": shops})
