"""The control endpoint ``/_sandbox/…`` (not part of GMO後払い): JSON in and out, no authentication.

| method | path | what |
| --- | --- | --- |
| GET | /_sandbox | shops, settings and faults in one answer |
| GET, POST | /_sandbox/shops | list; register or update one shop (upsert by authentication_id + shop_code) |
| GET, POST, DELETE | /_sandbox/faults | show; set (keys given replace, others stay); clear all |
| GET, POST | /_sandbox/settings | ``credit_limit``, ``review_resolve_lookups`` (null = never), ``clock_offset_days`` |
| GET | /_sandbox/ledger | every transaction (+ state, movement counts) and the movement log |
| GET | /_sandbox/requests | every API request: path, status, result, error codes, Content-Type |
| POST | /_sandbox/transactions/{id}/resolve | ``{"result": "OK" \\| "NG"}``: decide a 審査中 now |
| POST | /_sandbox/reset | back to the configuration the emulator was started with |

Errors: HTTP 400 (404 for an unknown path) with ``{"error": "<message>"}``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from kessai.sandbox.atone.wsgi import (
    MethodNotAllowedError,
    Request,
    Response,
    RouteNotFoundError,
    Router,
    json_response,
    parse_json_object,
)
from kessai.sandbox.gmo_atobarai.codes import GmoNg
from kessai.sandbox.gmo_atobarai.config import ShopConfig
from kessai.sandbox.gmo_atobarai.faults import FaultSpecError
from kessai.sandbox.gmo_atobarai.operations import GmoOperations
from kessai.sandbox.gmo_atobarai.screening import AuthorResult
from kessai.sandbox.gmo_atobarai.state import Store, shop_key

PREFIX = "/_sandbox"


class ControlError(ValueError):
    """A control request that cannot be applied (answered with HTTP 400)."""


def _int_setting(body: dict[str, Any], key: str, minimum: int | None, nullable: bool = False) -> tuple[bool, Any]:
    if key not in body:
        return False, None
    value = body[key]
    if value is None and nullable:
        return True, None
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum):
        raise ControlError(f"{key} must be an integer" + (f" >= {minimum}" if minimum is not None else ""))
    return True, value


class Control:
    def __init__(self, store: Store, operations: GmoOperations) -> None:
        self.store = store
        self.operations = operations
        self.router = Router()
        for method, path, handler in (
            ("GET", "", self._overview),
            ("GET", "/shops", self._shops),
            ("POST", "/shops", self._upsert_shop),
            ("GET", "/faults", self._faults),
            ("POST", "/faults", self._set_faults),
            ("DELETE", "/faults", self._clear_faults),
            ("GET", "/settings", self._settings),
            ("POST", "/settings", self._set_settings),
            ("GET", "/ledger", self._ledger),
            ("GET", "/requests", self._requests),
            ("POST", "/transactions/{transaction_id}/resolve", self._resolve),
            ("POST", "/reset", self._reset),
        ):
            self.router.add(method, PREFIX + path, handler)

    def handle(self, request: Request) -> Response:
        try:
            match = self.router.match(request.method, request.path)
        except RouteNotFoundError:
            return json_response(404, {"error": f"no control endpoint {request.path}"})
        except MethodNotAllowedError:
            return json_response(405, {"error": f"{request.method} is not allowed on {request.path}"})
        try:
            body = self._body(request)
            result: Any = match.handler(request, body, **match.params)
        except (ControlError, FaultSpecError) as exc:
            return json_response(400, {"error": str(exc)})
        except GmoNg as exc:
            return json_response(400, {"error": exc.errors[0].message, "codes": list(exc.codes)})
        return json_response(200, result)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if request.method == "GET" or not request.body.strip():
            return {}
        try:
            body = parse_json_object(request.body)
        except ValueError as exc:
            raise ControlError(f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ControlError("the body must be a JSON object")
        return body

    def _overview(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "service": "GMO後払い sandbox (Kessai)",
            "api_base_url": request.host_url + "/auto/",
            **self._shops(request, body),
            "settings": self._settings(request, body),
            "faults": self._faults(request, body),
        }

    def _shops(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return {"shops": [dataclasses.asdict(s) for s in self.store.shops.values()]}

    def _upsert_shop(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {f.name for f in dataclasses.fields(ShopConfig)}
        if unknown:
            raise ControlError(f"unknown shop field(s): {', '.join(sorted(unknown))}")
        values = {key: body.get(key) for key in ("authentication_id", "shop_code", "connect_password")}
        if not all(isinstance(v, str) and v for v in values.values()):
            raise ControlError("authentication_id, shop_code and connect_password are required strings")
        name = body.get("name", "Kessai デモ店舗")
        if not isinstance(name, str):
            raise ControlError("name must be a string")
        shop = ShopConfig(str(values["authentication_id"]), str(values["shop_code"]), str(values["connect_password"]))
        shop = dataclasses.replace(shop, name=name)
        with self.store.lock:
            self.store.shops[shop_key(shop)] = shop
        return dataclasses.asdict(shop)

    def _faults(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return self.store.faults.to_json()

    def _set_faults(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            self.store.faults.update(body)
            return self.store.faults.to_json()

    def _clear_faults(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            self.store.faults.clear()
            return self.store.faults.to_json()

    def _settings(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return {
                "credit_limit": self.store.settings.credit_limit,
                "review_resolve_lookups": self.store.settings.review_resolve_lookups,
                "clock_offset_days": self.store.clock.offset_days,
                "now": self.store.now().isoformat(timespec="seconds"),
            }

    def _set_settings(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        unknown = set(body) - {"credit_limit", "review_resolve_lookups", "clock_offset_days"}
        if unknown:
            raise ControlError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        has_limit, limit = _int_setting(body, "credit_limit", 1)
        has_lookups, lookups = _int_setting(body, "review_resolve_lookups", 1, nullable=True)
        has_offset, offset = _int_setting(body, "clock_offset_days", None)
        with self.store.lock:
            if has_limit:
                self.store.settings.credit_limit = limit
            if has_lookups:
                self.store.settings.review_resolve_lookups = lookups
            if has_offset:
                self.store.clock.offset_days = offset
        return self._settings(request, body)

    def _ledger(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return self.store.ledger()

    def _requests(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return {"requests": [r.to_json() for r in self.store.requests]}

    def _resolve(self, request: Request, body: dict[str, Any], transaction_id: str) -> dict[str, Any]:
        result = body.get("result")
        if result not in ("OK", "NG"):
            raise ControlError('result must be "OK" or "NG"')
        return self.operations.resolve(transaction_id, AuthorResult(result))

    def _reset(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.store.reset()
        return {"reset": True}
