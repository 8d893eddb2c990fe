"""Regressions for what the 10,000-case schemathesis runs found (docs/security.md): each request was accepted
with 200 although the OpenAPI document forbids it. Now each is a 422 and changes nothing."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.api.helpers import authorized_payment

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["0", "1700000000", "20260401", "2026-04-01T09", "2026-04-01_09:00", "now"])
def test_a_date_filter_takes_iso_8601_only(client, method, value):
    response = client.get(f"/orders?created_to={value}")

    assert response.status == 422
    assert [(e["field"], e["code"]) for e in response.body["errors"]] == [("created_to", "invalid_datetime")]


@pytest.mark.parametrize(
    "value", ["2026-04-01", "2026-04-01T09:00", "2026-04-01 09:00:00", "2026-04-01T09:00:00+09:00", "2026-04-01T00:00Z"]
)
def test_iso_8601_dates_and_date_times_are_accepted(client, method, value):
    authorized_payment(client)

    response = client.get(f"/orders?{urlencode({'created_from': value})}")  # "+09:00" is "%2B09:00" in a URL

    assert response.status == 200
    assert len(response.body["data"]) == 1


def test_a_query_parameter_given_twice_is_refused(client, method):
    response = client.get("/payment-errors?payment=pay_a&payment=pay_b&limit=5&limit=6")

    assert response.status == 422
    assert [(e["field"], e["code"]) for e in response.body["errors"]] == [
        ("limit", "repeated_field"),
        ("payment", "repeated_field"),
    ]


@pytest.mark.parametrize("options", [-0.33, 5, "manual", [], True])
def test_an_object_field_takes_a_json_object_only(client, account, options):
    response = client.patch(f"/provider-accounts/{account.id}", {"options": options})

    assert response.status == 422
    assert [(e["field"], e["code"]) for e in response.body["errors"]] == [("options", "invalid_type")]
    account.refresh_from_db()
    assert account.options == {}


def test_nested_objects_still_validate(client, account):
    response = client.patch(f"/provider-accounts/{account.id}", {"options": {"capture": "immediate"}})

    assert response.status == 200
    assert response.body["options"] == {"capture": "immediate"}
