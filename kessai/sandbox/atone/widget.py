"""The fake browser widget: ``/v1/atone.js``, the modal page ``/v1/modal`` and the modal's endpoints.

The modal endpoints are internal to the emulator (the real modal talks to atone's own backend):

- ``POST /v1/modal/api/prefill`` ``{pub_key, pre_token}`` → ``{"phone_number": …|null}``;
- ``POST /v1/modal/api/confirm`` ``{pub_key, pre_token, phone_number, payment}`` → validates the
  public key (EATN0304), the checksum (EATN0351, decision 2), the payment's field rules and the phone
  number (EATN0305), authenticates the buyer (認証Webhook), registers the transaction (決済Webhook) and
  answers ``{"authentication_token", "user_no", "response"}`` where ``response`` has the shape the
  ``succeeded`` / ``failed`` callbacks receive (protocol note §3.1).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from kessai.sandbox.atone import errors
from kessai.sandbox.atone.checksum import checksum_matches
from kessai.sandbox.atone.config import MerchantConfig
from kessai.sandbox.atone.errors import AtoneError, Code
from kessai.sandbox.atone.operations import AtoneOperations
from kessai.sandbox.atone.state import Store
from kessai.sandbox.atone.wsgi import (
    MethodNotAllowedError,
    Request,
    Response,
    RouteNotFoundError,
    Router,
    json_response,
    parse_json_object,
    text_response,
)

BASE_PLACEHOLDER = "__ATONE_SANDBOX_BASE__"


def _static(name: str) -> str:
    return resources.files("kessai.sandbox.atone").joinpath("static", name).read_text(encoding="utf-8")


class Widget:
    def __init__(self, store: Store, operations: AtoneOperations) -> None:
        self.store = store
        self.operations = operations
        self.atone_js = _static("atone.js")
        self.modal_html = _static("modal.html")
        self.router = Router()
        self.router.add("GET", "/v1/atone.js", self._atone_js)
        self.router.add("GET", "/v1/modal", self._modal)
        self.router.add("POST", "/v1/modal/api/prefill", self._prefill)
        self.router.add("POST", "/v1/modal/api/confirm", self._confirm)

    def handle(self, request: Request) -> Response:
        try:
            match = self.router.match(request.method, request.path)
        except MethodNotAllowedError:
            error = errors.fail(Code.BAD_REQUEST, None, errors.METHOD_NOT_ALLOWED, name=errors.NAME_METHOD_NOT_ALLOWED)
            return json_response(error.status, error.to_json())
        except RouteNotFoundError:
            error = errors.fail(Code.BAD_REQUEST, None, errors.NOT_FOUND_PATH, name=errors.NAME_NOT_FOUND)
            return json_response(error.status, error.to_json())
        try:
            response: Response = match.handler(request)
        except AtoneError as exc:
            return json_response(exc.status, exc.to_json())
        return response

    # -- static ----------------------------------------------------------------------------------

    def _atone_js(self, request: Request) -> Response:
        script = self.atone_js.replace(BASE_PLACEHOLDER, request.host_url + "/v1/")
        return text_response(200, script, "application/javascript; charset=utf-8")

    def _modal(self, request: Request) -> Response:
        return text_response(200, self.modal_html, "text/html; charset=utf-8")

    # -- modal endpoints -------------------------------------------------------------------------

    @staticmethod
    def _json(request: Request) -> dict[str, Any]:
        if not request.content_type_is_json():
            raise errors.fail(Code.CONTENT_TYPE, "Content-Type")
        try:
            body = parse_json_object(request.body)
        except ValueError:
            raise errors.fail(Code.MALFORMED_JSON) from None
        if not isinstance(body, dict):
            raise errors.fail(Code.BAD_REQUEST, None, errors.NOT_A_JSON_OBJECT)
        return body

    def _merchant(self, pub_key: Any) -> MerchantConfig | None:
        if not isinstance(pub_key, str):
            return None
        with self.store.lock:
            return self.store.merchants.get(pub_key)

    def _prefill(self, request: Request) -> Response:
        body = self._json(request)
        pre_token = body.get("pre_token")
        phone = self.operations.buyer_phone(
            self._merchant(body.get("pub_key")), pre_token if isinstance(pre_token, str) else None
        )
        return json_response(200, {"phone_number": phone})

    def _confirm(self, request: Request) -> Response:
        body = self._json(request)
        merchant = self._merchant(body.get("pub_key"))
        if merchant is None:
            raise errors.fail(Code.PUBLIC_KEY_NOT_FOUND, "shop_public_key")
        payment = body.get("payment")
        if not isinstance(payment, dict):
            raise errors.fail(Code.BAD_REQUEST, "payment", errors.NOT_A_JSON_OBJECT)
        if not checksum_matches(payment, merchant.secret_key):
            raise errors.fail(Code.CHECKSUM, "checksum")
        phone = body.get("phone_number")
        pre_token = body.get("pre_token")
        result = self.operations.checkout(
            merchant,
            payment,
            phone if isinstance(phone, str) else "",
            pre_token if isinstance(pre_token, str) and pre_token else None,
        )
        return json_response(
            200,
            {
                "authentication_token": result.authentication_token,
                "user_no": result.user_no,
                "response": result.response,
            },
        )
