"""Fault injection, the control endpoint and ``kessai sandbox gmo_atobarai``."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import httpx
import pytest

from kessai.sandbox.cli import build_parser
from kessai.sandbox.gmo_atobarai import GmoSandbox

from .helpers import codes, entry, gmo_id, post, register, register_body, request


def test_latency_delays_but_still_stores(api: httpx.Client, sandbox: GmoSandbox, control: httpx.Client) -> None:
    control.post("/faults", json={"latency_ms": 300})
    with pytest.raises(httpx.ReadTimeout):
        api.post("/transaction.do", content=request(register_body()), timeout=0.1)
    deadline = time.monotonic() + 2
    while not sandbox.ledger()["transactions"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(sandbox.ledger()["transactions"]) == 1


def test_http_5xx_and_system_error_store_nothing(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"http_5xx": {"count": 1, "status": 502}, "system_error": 1})
    page = api.post("/transaction.do", content=request(register_body()))
    assert (page.status_code, page.headers["content-type"]) == (502, "text/html; charset=utf-8")
    assert codes(post(api, "/transaction.do", register_body())) == ["SY0001"]
    assert control.get("/ledger").json()["transactions"] == []
    assert gmo_id(post(api, "/transaction.do", register_body()))


def test_drop_after_store_but_never_on_getauthor(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"drop_after_store": 2})
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/transaction.do", content=request(register_body()))
    [stored] = control.get("/ledger").json()["transactions"]
    gid = stored["transaction"]["gmoTransactionId"]
    assert post(api, "/getauthor.do", {"transaction": {"gmoTransactionId": gid}}).findtext("result") == "OK"
    assert control.get("/faults").json()["drop_after_store"] == {"count": 1}
    requests = control.get("/requests").json()["requests"]
    assert [(r["path"], r["status"], r["dropped"]) for r in requests] == [
        ("/auto/transaction.do", None, True),
        ("/auto/getauthor.do", 200, False),
    ]


def test_faults_are_validated_and_cleared(control: httpx.Client) -> None:
    assert control.post("/faults", json={"eatn0399": 1}).status_code == 400
    control.post("/faults", json={"latency_ms": 5, "system_error": {"count": 2}})
    assert control.delete("/faults").json() == {
        "latency_ms": 0,
        "http_5xx": {"count": 0, "probability": 0.0, "status": 503},
        "system_error": {"count": 0},
        "drop_after_store": {"count": 0},
        "injected": {},
    }


def test_settings_overview_and_reset(api: httpx.Client, control: httpx.Client, server_url: str) -> None:
    assert control.post("/settings", json={"credit_limit": 0}).status_code == 400
    assert control.post("/settings", json={"nope": 1}).status_code == 400
    settings = control.post("/settings", json={"credit_limit": 1000, "review_resolve_lookups": 3}).json()
    assert (settings["credit_limit"], settings["review_resolve_lookups"]) == (1000, 3)
    overview = control.get("").json()
    assert overview["api_base_url"] == server_url + "/auto/"
    assert overview["shops"][0]["shop_code"] == "abkessaidemo"
    gid = register(api)
    assert entry(control, gid)["transaction"]["authorResult"] == "NG"  # over the 1000 limit
    control.post("/reset")
    assert control.get("/settings").json()["credit_limit"] == 55_000
    assert control.get("/ledger").json()["transactions"] == []
    assert control.get("/nowhere").status_code == 404


def test_cli_defaults() -> None:
    args = build_parser().parse_args(["gmo_atobarai"])
    assert (args.port, args.authentication_id, args.shop_code, args.connect_password) == (
        8104,
        "9990000001",
        "abkessaidemo",
        "kessai-demo-gmo-pw01",
    )
    assert (args.credit_limit, args.review_lookups) == (55_000, 2)


def test_cli_runs_and_prints_one_line() -> None:
    command = [sys.executable, "-m", "kessai.sandbox", "gmo_atobarai", "--port", "0", "--review-lookups", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().rstrip("\n")
        found = re.fullmatch(
            r"gmo_atobarai sandbox: (http://127\.0\.0\.1:\d+)/ authentication_id=9990000001 shop_code=abkessaidemo"
            r" connect_password=kessai-demo-gmo-pw01",
            line,
        )
        assert found, line
        assert httpx.get(found.group(1) + "/_sandbox/settings").json()["review_resolve_lookups"] == 1
    finally:
        process.terminate()
        process.wait(timeout=5)
