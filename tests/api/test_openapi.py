"""/api/v1/openapi.json and /api/v1/docs, and the validating test client itself."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse
from django.test import Client

from tests.api.client import openapi, validate

pytestmark = pytest.mark.django_db


def test_openapi_document_is_public_and_describes_the_contract():
    response = Client().get("/api/v1/openapi.json")

    spec = response.json()
    assert response.status_code == 200
    assert spec["info"]["title"] == "Kessai API"
    description = spec["info"]["description"]
    for topic in (
        "Authorization: Bearer",
        "Idempotency-Key",
        "application/problem+json",
        "next_cursor",
        "webhook-signature",
    ):
        assert topic in description
    assert spec["components"]["securitySchemes"]["ApiKeyAuth"] == {"type": "http", "scheme": "bearer"}


def test_every_error_response_is_problem_json_and_every_post_takes_an_idempotency_key():
    for path, operations in openapi()["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"], (method, path, status)
            names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert ("Idempotency-Key" in names) == (method == "post"), (method, path)


def test_docs_page_is_served():
    response = Client().get("/api/v1/docs")

    assert response.status_code == 200
    assert b"/api/v1/openapi.json" in response.content


def test_the_validating_client_catches_a_response_that_breaks_the_schema():
    wrong = HttpResponse(json.dumps({"id": "ord_1"}), status=200, content_type="application/json")
    undocumented = HttpResponse(b"{}", status=418, content_type="application/json")
    wrong_type = HttpResponse(b"{}", status=404, content_type="application/json")

    with pytest.raises(AssertionError, match="does not match the OpenAPI schema"):
        validate("GET", "/api/v1/orders/ord_1", wrong)
    with pytest.raises(AssertionError, match="not documented"):
        validate("GET", "/api/v1/orders/ord_1", undocumented)
    with pytest.raises(AssertionError, match="application/json"):
        validate("GET", "/api/v1/orders/ord_1", wrong_type)
