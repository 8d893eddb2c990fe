"""The NinjaAPI of v1: routers, auth, problem+json errors, idempotency, OpenAPI refinements."""

from __future__ import annotations

import copy
import json
from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema
from ninja.renderers import JSONRenderer

from kessai.api import problems
from kessai.api.auth import ApiKeyAuth
from kessai.api.idempotency import idempotent
from kessai.api.openapi import DESCRIPTION, refine
from kessai.api.routers import (
    bulk_jobs,
    fee_rules,
    orders,
    payment_errors,
    payment_methods,
    payments,
    provider_accounts,
    subscriptions,
    webhook_endpoints,
)
from kessai.api.strict import sanitize_request


class Renderer(JSONRenderer):
    """JSON with Japanese as it is (not \\u escapes)."""

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> Any:
        return json.dumps(data, cls=self.encoder_class, ensure_ascii=False)


class KessaiAPI(NinjaAPI):
    """The document is built once per process (it depends only on the code), refined, and cached."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        cache: dict[str, OpenAPISchema] = self.__dict__.setdefault("_openapi_cache", {})
        key = json.dumps([path_prefix, path_params], sort_keys=True)
        if key not in cache:
            schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
            refine(schema)
            cache[key] = schema
        return copy.deepcopy(cache[key])


api = KessaiAPI(
    title="Kessai API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    auth=ApiKeyAuth(),
    renderer=Renderer(),
)
problems.install(api)
# The first decorator added is the innermost: requests are sanitised before the idempotency layer
# stores anything, and idempotency wraps authentication, parsing and the handler.
api.add_decorator(idempotent, mode="view")
api.add_decorator(sanitize_request, mode="view")
for module in (
    orders,
    payments,
    bulk_jobs,
    payment_errors,
    webhook_endpoints,
    provider_accounts,
    payment_methods,
    fee_rules,
    subscriptions,
):
    api.add_router("", module.router)
