"""Japanese by default; English when the user switches (Django's set_language)."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_japanese_by_default_and_english_after_switching(world, payment, viewer_client):
    html = viewer_client.get(reverse("backoffice:orders")).content.decode()
    assert '<html lang="ja">' in html
    assert ">受注リスト</a>" in html
    assert "仮売上" in html

    viewer_client.post(reverse("backoffice:set_language"), {"language": "en", "next": "/orders/"})
    html = viewer_client.get(reverse("backoffice:orders")).content.decode()

    assert '<html lang="en">' in html
    assert ">Orders</a>" in html
    assert ">Payment status</label>" in html
    assert "authorized" in html.lower()
    assert "仮売上" not in html
