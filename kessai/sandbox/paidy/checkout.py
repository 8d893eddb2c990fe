"""A stand-in for Paidy Checkout (``https://apps.paidy.com/``, note §2.1), served under ``/apps/``.

``GET /apps/`` is a small script defining ``Paidy.configure({api_key, logo_url?, closed, token?})`` whose
``.launch(payload)`` shows a modal (e-mail, phone, the SMS code) and calls ``closed(result)`` with
``{id, amount, currency, created_at, status}`` — ``status`` in lower case: ``authorized`` / ``rejected``,
or ``closed`` (and ``id: null``) when the buyer closes the modal [C S10b].

The modal posts to ``POST /apps/authorize`` (CORS-enabled, the page is on another origin):
``{api_key, payload, email, phone, otp, token?}``. The OTP is ``8888`` (note §2.5); a wrong one is refused
and the modal stays open. With ``token`` (the recurring-token flow, config keys [I]) a token is created
instead of a payment and ``closed`` receives ``{id: "tok_…", status: "active", created_at}`` [I].
"""

from __future__ import annotations

import re
from typing import Any

from kessai.sandbox.atone.wsgi import Request, Response, json_response, parse_json_object, text_response
from kessai.sandbox.paidy.errors import Code, PaidyError, malformed
from kessai.sandbox.paidy.operations import TEST_OTP, PaidyOperations
from kessai.sandbox.paidy.state import Store

PREFIX = "/apps"
PHONE_RE = re.compile(r"0[0-9]{9,10}")
CORS_HEADERS = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "POST, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type"),
]

SCRIPT = r"""/* Paidy Checkout stand-in (Kessai sandbox). Not Paidy's code. */
(function () {
  "use strict";
  var base = new URL(".", document.currentScript.src).href;
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }
  function Handler(options) { this.options = options || {}; }
  Handler.prototype.launch = function (payload) {
    var options = this.options;
    var buyer = (payload && payload.buyer) || {};
    var overlay = el("div", {id: "paidy-sandbox-overlay", role: "dialog", "aria-label": "Paidy"});
    overlay.style.cssText = "position:fixed;inset:0;background:rgba(0,0,0,.5);display:flex;" +
      "align-items:center;justify-content:center;z-index:99999";
    var box = el("form", {id: "paidy-sandbox-modal"});
    box.style.cssText = "background:#fff;padding:24px;border-radius:8px;min-width:320px;font-family:sans-serif";
    box.appendChild(el("h2", {}, "Paidy (sandbox)"));
    box.appendChild(el("p", {id: "paidy-sandbox-amount"},
      "¥" + Number((payload && payload.amount) || 0).toLocaleString("ja-JP")));
    var fields = [["email", "メールアドレス", buyer.email || ""], ["phone", "携帯電話番号", buyer.phone || ""],
                  ["otp", "認証コード (SMS)", ""]];
    var inputs = {};
    fields.forEach(function (f) {
      var label = el("label", {}, f[1]);
      var input = el("input", {name: f[0], id: "paidy-sandbox-" + f[0]});
      input.value = f[2];
      label.appendChild(input);
      box.appendChild(label);
      box.appendChild(el("br"));
      inputs[f[0]] = input;
    });
    var message = el("p", {id: "paidy-sandbox-error", role: "alert"});
    box.appendChild(message);
    var confirm = el("button", {type: "submit", id: "paidy-sandbox-confirm"}, "お支払いを確定する");
    var close = el("button", {type: "button", id: "paidy-sandbox-close"}, "閉じる");
    box.appendChild(confirm);
    box.appendChild(close);
    overlay.appendChild(box);
    document.body.appendChild(overlay);
    function finish(result) {
      overlay.remove();
      if (typeof options.closed === "function") { options.closed(result); }
    }
    close.addEventListener("click", function () {
      finish({id: null, amount: payload && payload.amount, currency: "JPY", created_at: null, status: "closed"});
    });
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      message.textContent = "";
      fetch(base + "authorize", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify({api_key: options.api_key, payload: payload, token: options.token || null,
                              email: inputs.email.value, phone: inputs.phone.value, otp: inputs.otp.value})
      }).then(function (response) {
        return response.json().then(function (data) { return {ok: response.ok, data: data}; });
      }).then(function (answer) {
        if (answer.ok) { finish(answer.data.callback); } else {
          message.textContent = answer.data.message || answer.data.description || "エラーが発生しました。";
        }
      }).catch(function () { message.textContent = "通信に失敗しました。"; });
    });
  };
  window.Paidy = { configure: function (options) { return new Handler(options); } };
})();
"""


def _with_cors(response: Response) -> Response:
    response.headers.extend(CORS_HEADERS)
    return response


class Checkout:
    def __init__(self, store: Store, operations: PaidyOperations) -> None:
        self.store = store
        self.operations = operations

    def handle(self, request: Request) -> Response:
        path = request.path.rstrip("/")
        if path == PREFIX and request.method == "GET":
            return text_response(200, SCRIPT, "application/javascript; charset=utf-8")
        if path == PREFIX + "/authorize":
            if request.method == "OPTIONS":
                return _with_cors(Response(204))
            if request.method == "POST":
                return _with_cors(self._authorize(request))
        return json_response(404, {"error": f"no checkout endpoint {request.method} {request.path}"})

    def _authorize(self, request: Request) -> Response:
        try:
            try:
                body = parse_json_object(request.body)
            except ValueError:
                raise malformed("body: is not valid JSON") from None
            if not isinstance(body, dict):
                raise malformed("body: must be a JSON object")
            return json_response(200, self.approve(body))
        except PaidyError as exc:
            return json_response(exc.status, {**exc.to_json(), "message": _japanese(exc)})

    def approve(self, body: dict[str, Any]) -> dict[str, Any]:
        """The modal's confirm step: ``{api_key, payload, email, phone, otp, token?}`` → ``{callback, …}``."""
        api_key = body.get("api_key")
        with self.store.lock:
            merchant = self.store.merchants.get(api_key) if isinstance(api_key, str) else None
        if merchant is None:
            raise PaidyError(Code.AUTHENTICATION, "api_key: unknown public key")
        if body.get("otp") != TEST_OTP:
            raise malformed("otp: the SMS code is wrong")
        phone = body.get("phone")
        email = body.get("email")
        if not isinstance(phone, str) or not PHONE_RE.fullmatch(phone.strip()):
            raise malformed("buyer.phone: must be 10 or 11 half-width digits starting with 0")
        if not isinstance(email, str) or "@" not in email:
            raise malformed("buyer.email: must be a valid e-mail address")
        payload = body.get("payload")
        if not isinstance(payload, dict):
            raise malformed("payload: must be an object")
        token_config = body.get("token")
        if isinstance(token_config, dict):
            buyer = dict(payload.get("buyer") or {}) if isinstance(payload.get("buyer"), dict) else {}
            buyer.update(email=email.strip(), phone=phone.strip())
            address = payload.get("shipping_address") if isinstance(payload.get("shipping_address"), dict) else None
            wallet = token_config.get("wallet_id")
            description = token_config.get("description")
            token = self.operations.create_token(
                merchant,
                buyer,
                address=address,
                wallet_id=wallet if isinstance(wallet, str) and wallet else "default",
                description=description if isinstance(description, str) else "",
            )
            callback = {"id": token["id"], "status": "active", "created_at": token["created_at"]}
            return {"callback": callback, "token": token}
        payment = self.operations.checkout(merchant, payload, email=email.strip(), phone=phone.strip())
        callback = {
            "id": payment["id"],
            "amount": payment["amount"],
            "currency": payment["currency"],
            "created_at": payment["created_at"],
            "status": str(payment["status"]).lower(),
        }
        return {"callback": callback, "payment": payment}


def _japanese(error: PaidyError) -> str:
    if error.description.startswith("otp:"):
        return "認証コードが正しくありません。"
    if error.code is Code.AUTHENTICATION:
        return "加盟店の公開キーが正しくありません。"
    return f"入力内容を確認してください。（{error.description}）"
