"""A test client for API v1 that validates EVERY response against /api/v1/openapi.json.

For each response it finds the operation (method + path template), checks that the status is
documented, that the content type is the documented one, and validates the body against the
documented schema (``$ref``s resolved against ``#/components/schemas``, formats checked) with
jsonschema_rs (schemathesis's validator). Any mismatch fails the test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema_rs
from django.http import HttpResponse
from django.test import Client

PREFIX = "/api/v1"


@cache
def openapi() -> dict[str, Any]:
    response = Client().get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    spec: dict[str, Any] = response.json()
    return spec


def _pattern_for(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    return re.compile("^" + "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + "$")


@cache
def _operation_index() -> list[tuple[re.Pattern[str], str, str]]:
    return [
        (_pattern_for(template), method.upper(), template)
        for template, operations in openapi()["paths"].items()
        for method in operations
    ]


def find_operation(method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    for pattern, op_method, template in _operation_index():
        if op_method == method.upper() and pattern.match(path):
            return template, openapi()["paths"][template][method.lower()]
    return None


@cache
def _validator(schema_json: str) -> jsonschema_rs.Validator:
    root = {"allOf": [json.loads(schema_json)], "components": openapi()["components"]}
    return jsonschema_rs.validator_for(root, validate_formats=True)


def validate_body(schema: Mapping[str, Any], body: Any) -> None:
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, "response does not match the OpenAPI schema:\n" + "\n".join(errors)


def problem_schema() -> dict[str, Any]:
    return {"$ref": "#/components/schemas/Problem"}


def validate(method: str, path: str, response: HttpResponse) -> None:
    """Fail unless the response is exactly what the OpenAPI document promises."""
    bare = path.split("?", 1)[0]
    content_type = response.get("Content-Type", "").split(";")[0].strip()
    found = find_operation(method, bare)
    if found is None:
        # Unknown path or method: still a problem document.
        assert response.status_code in (404, 405), f"{method} {bare} is not in the OpenAPI document"
        assert content_type == "application/problem+json"
        validate_body(problem_schema(), json.loads(response.content))
        return
    template, operation = found
    documented = operation["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method} {template}: status {status} is not documented ({sorted(documented)})"
    content = documented[status].get("content")
    if not content:
        assert not response.content, f"{method} {template}: {status} documents no body"
        return
    assert content_type in content, f"{method} {template}: {status} has {content_type}, documented {list(content)}"
    validate_body(content[content_type]["schema"], json.loads(response.content))


@dataclass
class ApiResponse:
    status: int
    body: Any
    headers: Mapping[str, str]
    raw: HttpResponse

    def __repr__(self) -> str:
        return f"<ApiResponse {self.status} {self.body!r}>"


class ApiClient:
    """``client.post("/orders", {...})`` → validated :class:`ApiResponse`."""

    def __init__(self, key: str | None = None, *, language: str | None = None) -> None:
        self.key = key
        self.language = language
        self.django = Client()

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.key is not None:
            headers["Authorization"] = f"Bearer {self.key}"
        if self.language is not None:
            headers["Accept-Language"] = self.language
        headers.update(extra or {})
        return headers

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        raw_body: bytes | None = None,
    ) -> ApiResponse:
        data = raw_body if raw_body is not None else (b"" if body is None else json.dumps(body).encode())
        url = PREFIX + path
        response = self.django.generic(
            method, url, data=data, content_type="application/json", headers=self.headers(headers)
        )
        validate(method, url, response)
        parsed = json.loads(response.content) if response.content else None
        return ApiResponse(response.status_code, parsed, dict(response.headers), response)

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("POST", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("PATCH", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("DELETE", path, **kw)
