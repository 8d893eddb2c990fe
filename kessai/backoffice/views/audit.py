"""操作ログ: the staff audit log of the current shop (owners only)."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse

from kessai.backoffice import selectors
from kessai.backoffice.access import Staff, staff_view
from kessai.backoffice.views.common import page
from kessai.shops.models import Role


@staff_view(read=Role.OWNER, write=Role.OWNER)
def audit_log(request: HttpRequest, staff: Staff) -> HttpResponse:
    after = request.GET.get("after", "")
    entries = selectors.audit_entries(staff.shop, after=int(after) if after.isdigit() else None)
    rows = [
        {
            "e": e,
            "before": json.dumps(e.before, ensure_ascii=False, sort_keys=True) if e.before is not None else "",
            "after": json.dumps(e.after, ensure_ascii=False, sort_keys=True) if e.after is not None else "",
        }
        for e in entries
    ]
    next_after = entries[-1].pk if len(entries) == 100 else None
    return page(request, staff, "backoffice/audit.html", {"rows": rows, "next_after": next_after}, nav="audit")
