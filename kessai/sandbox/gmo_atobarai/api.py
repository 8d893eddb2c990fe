"""The GMO後払い XML API under ``/auto/`` (as at ``https://testshop.gmo-ab.com/auto/``).

| path | what |
| --- | --- |
| POST /auto/transaction.do | 取引登録 → OK / NG / 審査中 |
| POST /auto/modifycanceltransaction.do | updateKind 1 取引修正 (re-screened) / 2 キャンセル |
| POST /auto/getauthor.do | 与信審査結果確認 (resolves 審査中 on the configured lookup) |
| POST /auto/pdrequest.do | 出荷報告 (= capture) |
| POST /auto/modifycancelpdrequest.do | updateKind 1 出荷報告修正 / 2 出荷報告取消 |

Every answer is HTTP 200 XML (``<result>OK</result>…`` or ``<result>NG</result><errors>…``), except the
``http_5xx`` fault (an HTML page), an unknown path (404) and a method other than POST (405). Any request
Content-Type is accepted (CS-Cart posts XML with curl's form default).

Order of checks: faults → XML (UTF-8, no DOCTYPE/ENTITY: XM0002; well-formed, root ``request``: XM0001)
→ ``shopInfo`` (AU0001) → the operation → ``drop_after_store`` (not for getauthor.do).
"""

from __future__ import annotations

import logging
import time
import xml.etree.ElementTree as ET  # types only; parsing is in xmlio (defused)
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from kessai.sandbox.atone.wsgi import Request, Response, text_response
from kessai.sandbox.gmo_atobarai import codes
from kessai.sandbox.gmo_atobarai.codes import GmoNg
from kessai.sandbox.gmo_atobarai.config import ShopConfig
from kessai.sandbox.gmo_atobarai.operations import GmoOperations
from kessai.sandbox.gmo_atobarai.state import Store
from kessai.sandbox.gmo_atobarai.xmlio import XmlRefused, parse_request, render, text_of
from kessai.sandbox.server import DropConnection

logger = logging.getLogger("kessai.sandbox.gmo_atobarai.api")

PREFIX = "/auto/"
XML_CONTENT_TYPE = "application/xml; charset=UTF-8"
READ_ONLY = frozenset({"getauthor.do"})
FAULT_PAGE = "<html><head><title>{status}</title></head><body><h1>{status} {phrase}</h1></body></html>"

Handler = Callable[[ShopConfig, ET.Element], dict[str, Any]]


def xml_response(body: dict[str, Any]) -> Response:
    return Response(200, render(body), content_type=XML_CONTENT_TYPE)


class GmoApi:
    def __init__(self, store: Store, operations: GmoOperations) -> None:
        self.store = store
        self.handlers: dict[str, Handler] = {
            "transaction.do": operations.register,
            "modifycanceltransaction.do": operations.modify_or_cancel,
            "getauthor.do": operations.getauthor,
            "pdrequest.do": operations.ship,
            "modifycancelpdrequest.do": operations.modify_or_cancel_shipment,
        }

    def handle(self, request: Request) -> Response:
        content_type = request.header("content-type") or ""
        operation = request.path[len(PREFIX) :]
        handler = self.handlers.get(operation)
        if handler is None:
            self.store.record_request(request.method, request.path, 404, "", (), content_type)
            return text_response(404, "Not Found", "text/plain; charset=utf-8")
        if request.method != "POST":
            self.store.record_request(request.method, request.path, 405, "", (), content_type)
            return Response(405, b"Method Not Allowed", "text/plain; charset=utf-8", [("Allow", "POST")])
        try:
            fault = self._apply_faults()
            if fault is not None:
                self.store.record_request(request.method, request.path, fault.status, "", (), content_type)
                return fault
            root = self._root(request.body)
            shop_info = root.find("shopInfo")
            shop = self.store.shop_for(
                text_of(shop_info, "authenticationId"),
                text_of(shop_info, "shopCode"),
                text_of(shop_info, "connectPassword"),
            )
            body = handler(shop, root)
        except GmoNg as exc:
            self.store.record_request(request.method, request.path, 200, "NG", exc.codes, content_type)
            return xml_response(exc.to_xml())
        if operation not in READ_ONLY:
            with self.store.lock:
                drop = self.store.faults.take_drop()
            if drop:
                self.store.record_request(request.method, request.path, None, "OK", (), content_type)
                logger.info("fault drop_after_store: %s stored, dropping the connection", request.path)
                raise DropConnection
        self.store.record_request(request.method, request.path, 200, "OK", (), content_type)
        return xml_response(body)

    def _apply_faults(self) -> Response | None:
        with self.store.lock:
            latency_ms = self.store.faults.take_latency()
        if latency_ms:
            time.sleep(latency_ms / 1000)
        with self.store.lock:
            status = self.store.faults.take_5xx()
            system_error = status is None and self.store.faults.take_system_error()
        if status is not None:
            page = FAULT_PAGE.format(status=status, phrase=HTTPStatus(status).phrase)
            return text_response(status, page, "text/html; charset=utf-8")
        if system_error:
            raise codes.ng(codes.SYSTEM)
        return None

    @staticmethod
    def _root(body: bytes) -> ET.Element:
        try:
            root = parse_request(body)
        except XmlRefused as exc:
            raise codes.ng(codes.XML_UNSAFE if exc.unsafe else codes.XML_MALFORMED) from None
        if root.tag != "request":
            raise codes.ng(codes.XML_MALFORMED)
        return root
