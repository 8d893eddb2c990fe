"""The control endpoint ``/_sandbox/…`` (not part of NP): JSON in and out, no authentication.

| method | path | what |
| --- | --- | --- |
| GET | /_sandbox | merchants, settings and faults in one answer |
| GET, POST | /_sandbox/merchants | list; register or update one merchant (upsert by ``merchant_code``) |
| GET, POST, DELETE | /_sandbox/faults | show; set (keys given replace, others stay); clear all |
| GET, POST | /_sandbox/settings | the run-time knobs (see below) |
| GET | /_sandbox/ledger | every transaction (+ state, movement counts) and the movement log |
| GET | /_sandbox/requests | every REST request: method, path, status, item count, codes |
| GET | /_sandbox/transactions/{id} | one transaction as the ledger shows it |
| POST | /_sandbox/transactions/{id}/review | finish NP's manual review (body below) |
| POST | /_sandbox/transactions/{id}/pay | the buyer paid (payment_status 20; cancel → E0100114) |
| POST | /_sandbox/transactions/{id}/return | the goods went back to the merchant (cancel → E0100131) |
| POST | /_sandbox/reset | back to the configuration the emulator was started with |

Settings: ``clock_offset_seconds``, ``credit_limit``, ``review_resolve_lookups``, ``review_resolve_seconds``,
``hold_expires_seconds``, ``max_reregistrations`` (the three review/hold knobs accept null = off).
Review body: ``{"authori_result": "00" | "10" | "20", "authori_ng"?, "authori_hold"?}``.

Errors: HTTP 400 (404 for an unknown path or transaction) with ``{"error": "<message>"}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from kessai.sandbox.np_atobarai import screening
from kessai.sandbox.np_atobarai.config import MerchantConfig
from kessai.sandbox.np_atobarai.faults import FaultSpecError
from kessai.sandbox.np_atobarai.http import (
    MethodNotAllowedError,
    Request,
    Response,
    RouteNotFoundError,
    Router,
    json_response,
    parse_json,
)
from kessai.sandbox.np_atobarai.operations import Operations
from kessai.sandbox.np_atobarai.screening import Outcome
from kessai.sandbox.np_atobarai.state import Refused, Store, Transaction

PREFIX = "/_sandbox"
NULLABLE_SETTINGS = ("review_resolve_lookups", "review_resolve_seconds", "hold_expires_seconds")


class ControlError(ValueError):
    """A control request that cannot be applied (answered with HTTP 400)."""


class UnknownTransaction(LookupError):
    pass


def _number(body: dict[str, Any], key: str, *, minimum: float, integer: bool, nullable: bool) -> Any:
    value = body[key]
    if value is None and nullable:
        return None
    wrong_kind = isinstance(value, bool) or not isinstance(value, int if integer else int | float)
    if wrong_kind or value < minimum:
        kind = "an integer" if integer else "a number"
        raise ControlError(f"{key} must be {kind} >= {minimum}" + (" or null" if nullable else ""))
    return value


def outcome_from(body: dict[str, Any]) -> Outcome:
    result = body.get("authori_result")
    if result not in (screening.OK, screening.HOLD, screening.NG):
        raise ControlError('authori_result must be "00", "10" or "20"')
    if result == screening.NG:
        ng = body.get("authori_ng", screening.NG_OTHER)
        if ng not in screening.NG_CODES:
            raise ControlError(f"authori_ng must be one of {list(screening.NG_CODES)}")
        return Outcome(result, ng=ng)
    if result == screening.HOLD:
        hold = body.get("authori_hold", [screening.HOLD_BILLING_ADDRESS])
        if not isinstance(hold, list) or not hold or not all(h in screening.HOLD_CODES for h in hold):
            raise ControlError(f"authori_hold must be a non-empty list drawn from {list(screening.HOLD_CODES)}")
        return Outcome(result, hold=tuple(hold))
    return Outcome(result)


class Control:
    def __init__(self, store: Store, operations: Operations) -> None:
        self.store = store
        self.operations = operations
        self.router: Router[Callable[..., Any]] = Router()
        for method, path, handler in (
            ("GET", "", self._overview),
            ("GET", "/merchants", self._merchants),
            ("POST", "/merchants", self._upsert_merchant),
            ("GET", "/faults", self._faults),
            ("POST", "/faults", self._set_faults),
            ("DELETE", "/faults", self._clear_faults),
            ("GET", "/settings", self._settings),
            ("POST", "/settings", self._set_settings),
            ("GET", "/ledger", self._ledger),
            ("GET", "/requests", self._requests),
            ("GET", "/transactions/{id}", self._transaction),
            ("POST", "/transactions/{id}/review", self._review),
            ("POST", "/transactions/{id}/pay", self._pay),
            ("POST", "/transactions/{id}/return", self._return),
            ("POST", "/reset", self._reset),
        ):
            self.router.add(method, PREFIX + path, handler)

    def handles(self, path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

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
        except UnknownTransaction as exc:
            return json_response(404, {"error": f"unknown transaction {exc}"})
        except Refused as exc:
            return json_response(400, {"error": "refused", "codes": exc.codes})
        return json_response(200, result)

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        if request.method == "GET" or not request.body.strip():
            return {}
        try:
            body = parse_json(request.body)
        except ValueError as exc:
            raise ControlError(f"the body is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise ControlError("the body must be a JSON object")
        return body

    def _tx(self, np_id: str) -> Transaction:
        tx = self.store.transactions.get(np_id)
        if tx is None:
            raise UnknownTransaction(np_id)
        return tx

    # -- handlers --------------------------------------------------------------------------------

    def _overview(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "service": "NP後払い sandbox (Kessai)",
            "api_base_url": request.host_url + "/v1/",
            **self._merchants(request, body),
            "settings": self._settings(request, body),
            "faults": self._faults(request, body),
        }

    def _merchants(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return {"merchants": [dataclasses.asdict(m) for m in self.store.merchants.values()]}

    def _upsert_merchant(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        known = {f.name for f in dataclasses.fields(MerchantConfig)}
        unknown = set(body) - known
        if unknown:
            raise ControlError(f"unknown merchant field(s): {', '.join(sorted(unknown))}")
        if not all(isinstance(body.get(k, ""), str) for k in known):
            raise ControlError("merchant fields must be strings")
        code = body.get("merchant_code")
        if not code:
            raise ControlError("merchant_code is required")
        with self.store.lock:
            existing = self.store.merchants.get(code)
            values = {**(dataclasses.asdict(existing) if existing else {}), **body}
            missing = [k for k in ("sp_code", "terminal_id") if not values.get(k)]
            if missing:
                raise ControlError(f"{', '.join(missing)} required for a new merchant")
            merchant = MerchantConfig(**values)
            self.store.merchants[code] = merchant
            return dataclasses.asdict(merchant)

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
                **self.store.settings.to_json(),
                "clock_offset_seconds": self.store.clock.offset_seconds,
                "now": self.store.now().isoformat(timespec="seconds"),
            }

    def _set_settings(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        specs: dict[str, tuple[float, bool, bool]] = {  # key: (minimum, integer, nullable)
            "clock_offset_seconds": (float("-inf"), False, False),
            "credit_limit": (1, True, False),
            "review_resolve_lookups": (1, True, True),
            "review_resolve_seconds": (0, False, True),
            "hold_expires_seconds": (0, False, True),
            "max_reregistrations": (1, True, False),
        }
        unknown = set(body) - set(specs)
        if unknown:
            raise ControlError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values = {
            key: _number(body, key, minimum=spec[0], integer=spec[1], nullable=spec[2])
            for key, spec in specs.items()
            if key in body
        }
        with self.store.lock:
            for key, value in values.items():
                if key == "clock_offset_seconds":
                    self.store.clock.offset_seconds = float(value)
                else:
                    setattr(self.store.settings, key, value)
        return self._settings(request, body)

    def _ledger(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        return self.store.ledger()

    def _requests(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        with self.store.lock:
            return {"requests": [r.to_json() for r in self.store.requests]}

    def _transaction(self, request: Request, body: dict[str, Any], id: str) -> dict[str, Any]:
        with self.store.lock:
            tx = self._tx(id)
            return {"transaction": tx.to_json(), "movements": self.store.movement_counts(id)}

    def _review(self, request: Request, body: dict[str, Any], id: str) -> dict[str, Any]:
        outcome = outcome_from(body)
        with self.store.lock:
            tx = self._tx(id)
            self.operations.settle_review(tx, outcome)
            return {"transaction": tx.to_json()}

    def _pay(self, request: Request, body: dict[str, Any], id: str) -> dict[str, Any]:
        with self.store.lock:
            tx = self._tx(id)
            self.operations.mark_paid(tx)
            return {"transaction": tx.to_json()}

    def _return(self, request: Request, body: dict[str, Any], id: str) -> dict[str, Any]:
        with self.store.lock:
            tx = self._tx(id)
            self.operations.mark_returned(tx)
            return {"transaction": tx.to_json()}

    def _reset(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        self.store.reset()
        return {"reset": True}
