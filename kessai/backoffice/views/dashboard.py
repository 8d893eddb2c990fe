"""ダッシュボード: today's and this month's screening results, captured money, NG rate, 30-day chart."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse

from kessai.backoffice import selectors
from kessai.backoffice.access import Staff, staff_view
from kessai.backoffice.views.common import page

CHART_W, CHART_H, BAR_W, GAP, TOP, BOTTOM, LEFT = 680, 220, 16, 5, 10, 28, 40


def chart_bars(dash: selectors.Dashboard) -> dict[str, Any]:
    """Stacked bars (OK / 保留 / NG) as SVG rectangles, computed here so the template stays declarative."""
    scale_max = max(dash.max_day, 1)
    plot_h = CHART_H - TOP - BOTTOM
    bars = []
    for i, day in enumerate(dash.days):
        x = LEFT + i * (BAR_W + GAP)
        y: float = CHART_H - BOTTOM
        segments = []
        for value, css in ((day.ok, "ok"), (day.held, "held"), (day.ng, "ng")):
            h = round(value * plot_h / scale_max, 1)
            if h:
                y -= h
                segments.append({"y": round(y, 1), "h": h, "css": css})
        bars.append({"x": x, "day": day, "segments": segments, "label": day.day.day if i % 5 == 0 or i == 29 else None})
    ticks = [{"y": round(CHART_H - BOTTOM - plot_h * f, 1), "value": round(scale_max * f)} for f in (0, 0.5, 1)]
    return {
        "bars": bars,
        "ticks": ticks,
        "w": CHART_W,
        "h": CHART_H,
        "bar_w": BAR_W,
        "left": LEFT,
        "base": CHART_H - BOTTOM,
        "label_y": CHART_H - 10,
    }


@staff_view()
def dashboard(request: HttpRequest, staff: Staff) -> HttpResponse:
    dash = selectors.dashboard(staff.shop)
    return page(request, staff, "backoffice/dashboard.html", {"dash": dash, "chart": chart_bars(dash)}, nav="dashboard")
