"""Invariant 5 end to end: real processes, real log files, a full database dump — no plaintext secret.

``kessai serve`` (gunicorn, JSON logs), ``kessai worker`` (plain logs), both at DEBUG, and ``kessai sandbox
atone`` with keys made for this run, on a fresh SQLite file — or, when ``DATABASE_URL`` is PostgreSQL, on a
fresh database of that cluster. The flow touches every place a secret passes through: a provider account
created with credentials over the API and tested, an API key on every call (and a wrong one), an order paid in
the checkout (the buyer's token reported by the widget, the emulator's payment webhook), capture and refund,
wrong credentials that land in the 決済エラーログ, an outbound webhook with its signing secret, a back-office
login and its pages.

Then the Kessai processes' log files and every column of every table are scanned for the secrets of the run:
the API key, the atone secret keys (right and wrong), the staff password, ``DJANGO_SECRET_KEY``, the key ring and
the buyer's token (logs and database: the token is kept only encrypted, in the payment and in the sealed inbound
webhook notices); the webhook signing secret and the inbound webhook token (logs — the database keeps them by
design). The emulator's own log is not Kessai's: the provider legitimately holds its
keys and our webhook URL. Finally a secret is planted in a table and in a log line, and the same scan must find
exactly those — so the test cannot pass by reading nothing.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.processes import Service, Stack, is_postgres
from tests.security.secret_scan import (
    DB,
    LOGS,
    Leak,
    SecretRegistry,
    dump_postgres,
    dump_sqlite,
    find_leaks,
    log_lines,
)

pytestmark = pytest.mark.slow

PASSWORD = "e2e " + secrets.token_urlsafe(12)


class Receiver:
    """The shop's webhook endpoint: keeps what Kessai posts."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append({"headers": dict(self.headers), "body": body.decode()})
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A database of the test's own: a SQLite file, or a new database on the PostgreSQL cluster."""
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'kessai.sqlite3'}"
        return
    import os

    import psycopg
    from psycopg import sql

    server = os.environ["DATABASE_URL"]
    name = f"kessai_secret_scan_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_db(server, name)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _with_db(url: str, name: str) -> str:
    head, _, query = url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{name}" + (f"?{query}" if query else "")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


def api(web: Service, key: str, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(
        method,
        f"{web.url}/api/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30.0,
    )
    assert response.status_code < 500, response.text
    return response


def eventually(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def checkout_in_browser(web: Service, emulator: Service, checkout_url: str) -> dict[str, Any]:
    """What the buyer's browser does: load the page, confirm in the widget, report back to the hub."""
    with httpx.Client(base_url=web.url, timeout=30.0) as browser:
        html = browser.get(checkout_url).text
        config = json.loads(re.search(r'id="checkout-config" type="application/json">(.*?)</script>', html).group(1))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        widget = config["widget"]
        confirmed = httpx.post(
            f"{emulator.url}/v1/modal/api/confirm",
            json={
                "pub_key": widget["pub_key"],
                "pre_token": widget.get("pre_token", ""),
                "phone_number": "090-1234-5678",
                "payment": widget["payment"],
            },
            timeout=10.0,
        ).json()
        headers = {"X-CSRFToken": token, "Referer": web.url + checkout_url}
        stored = browser.post(
            config["urls"]["authenticated"],
            json={"authentication_token": confirmed["authentication_token"], "user_no": confirmed["user_no"]},
            headers=headers,
        )
        assert stored.status_code == 200, stored.text
        ref = confirmed["response"]["id"]
        result = browser.post(config["urls"]["result"], json={"provider_ref": ref}, headers=headers)
        assert result.json()["state"] == "authorized", result.text
        return {"buyer_token": confirmed["authentication_token"], "provider_ref": confirmed["response"]["id"]}


def back_office_visit(web: Service, username: str) -> list[str]:
    """Sign in and open the pages that show the account's credentials and the error log."""
    with httpx.Client(base_url=web.url, timeout=30.0, follow_redirects=False) as staff:
        html = staff.get("/login/").text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        login = staff.post("/login/", data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
        assert login.status_code == 302, login.text
        pages = [staff.get(path) for path in ("/", "/orders/", "/errors/", "/settings/accounts/atone/")]
        assert [p.status_code for p in pages] == [200, 200, 200, 200]
        return [p.text for p in pages]


def dump(database_url: str) -> Iterator[tuple[str, str]]:
    if is_postgres(database_url):
        return dump_postgres(database_url)
    return dump_sqlite(Path(database_url.removeprefix("sqlite:///")))


def scan(
    registry: SecretRegistry, logs: list[Path], database_url: str, *, offsets: dict[Path, int] | None = None
) -> list[Leak]:
    leaks: list[Leak] = []
    for path in logs:
        lines = log_lines(path)
        if offsets is not None:
            limit = offsets[path]
            lines = ((where, line) for where, line in lines if _position(path, where) <= limit)
        leaks.extend(find_leaks(registry, lines, LOGS))
    leaks.extend(find_leaks(registry, dump(database_url), DB))
    return leaks


def _position(path: Path, where: str) -> int:
    return int(where.rsplit(":", 1)[1])


def line_counts(paths: list[Path]) -> dict[Path, int]:
    return {path: sum(1 for _ in path.open(errors="replace")) for path in paths}


def test_no_plaintext_secret_in_the_logs_or_the_database_of_real_processes(tmp_path, database_url, receiver):
    public_key, secret_key = "pk_e2e_" + secrets.token_urlsafe(16), "sk_e2e_" + secrets.token_urlsafe(24)
    wrong_key = "sk_e2e_wrong_" + secrets.token_urlsafe(20)
    debug = {"KESSAI_LOG_LEVEL": "DEBUG", "KESSAI_ALLOW_SANDBOX": "1"}
    stack = Stack(tmp_path / "stack", database_url, extra_env=debug)
    registry = SecretRegistry()
    try:
        stack.migrate()
        emulator = stack.emulator("atone", None, "--public-key", public_key, "--secret-key", secret_key)
        web = stack.web(workers=2, threads=4, env={"KESSAI_LOG_FORMAT": "json"})
        stack.worker("--interval", "0.2", env={"KESSAI_LOG_FORMAT": "plain"})
        shop = stack.create_shop("秘密スキャン商店")
        key = shop["api_key"]
        stack.kessai(
            "shell",
            "-c",
            "from kessai.shops.models import Shop, Role; from kessai.shops.services import add_staff; "
            f"add_staff(Shop.objects.get(pk={shop['shop_id']!r}), username='scan-owner', password={PASSWORD!r}, "
            "role=Role.OWNER)",
        )

        # A provider account with credentials, tested; a payment method; an outbound webhook endpoint.
        account = api(
            web,
            key,
            "POST",
            "/provider-accounts",
            {
                "provider": "atone",
                "credentials": {"public_key": public_key, "secret_key": secret_key},
                "options": {"capture": "manual"},
                "base_url": f"{emulator.url}/v1/",
            },
        ).json()
        assert api(web, key, "POST", f"/provider-accounts/{account['id']}/test").json()["ok"] is True
        api(web, key, "POST", "/payment-methods", {"provider_account": account["id"], "code": "atone", "name": "atone"})
        endpoint = api(web, key, "POST", "/webhook-endpoints", {"url": receiver.url}).json()
        httpx.post(
            f"{emulator.url}/_sandbox/merchants",
            json={
                "public_key": public_key,
                "payment_webhook_url": account["webhook_urls"]["payment"],
                "authentication_webhook_url": account["webhook_urls"]["authentication"],
            },
            timeout=10.0,
        ).raise_for_status()

        # An order paid in the checkout (widget → emulator → webhooks), captured and partly refunded.
        order = api(web, key, "POST", "/orders", _order("SCAN-1")).json()
        started = api(web, key, "POST", f"/orders/{order['id']}/payments", {"payment_method": "atone"}).json()
        payment_id = started["id"]
        paid = checkout_in_browser(web, emulator, "/pay/" + started["next_action"]["url"].rsplit("/pay/", 1)[1])
        assert api(web, key, "POST", f"/payments/{payment_id}/capture", {}).json()["state"] == "captured"
        assert api(web, key, "POST", f"/payments/{payment_id}/refund", {"amount": 1000}).status_code == 200

        # Wrong credentials: the connection test and a capture fail into the 決済エラーログ.
        api(web, key, "PATCH", f"/provider-accounts/{account['id']}", {"credentials": {"secret_key": wrong_key}})
        assert api(web, key, "POST", f"/provider-accounts/{account['id']}/test").json()["ok"] is False
        second = api(web, key, "POST", "/orders", _order("SCAN-2")).json()
        api(web, key, "POST", f"/orders/{second['id']}/payments", {"payment_method": "atone"})
        errors = api(web, key, "GET", "/payment-errors").json()["data"]
        assert errors, "the failures should be in the 決済エラーログ"
        api(web, key, "PATCH", f"/provider-accounts/{account['id']}", {"credentials": {"secret_key": secret_key}})
        wrong = httpx.get(f"{web.url}/api/v1/orders", headers={"Authorization": "Bearer sk_test_wrong"})
        assert wrong.status_code == 401

        # The back-office shows the account (masked) and the error log.
        for html in back_office_visit(web, "scan-owner"):
            assert secret_key not in html
            assert wrong_key not in html

        # Kessai signed and delivered its own webhooks; the provider's were stored and applied.
        assert eventually(lambda: receiver.received), "no outbound webhook arrived"
        assert all("webhook-signature" in {k.lower() for k in r["headers"]} for r in receiver.received)

        for kind, value, db in [
            ("api_key", key, True),
            ("credential:atone.secret_key", secret_key, True),
            ("credential:atone.secret_key (wrong)", wrong_key, True),
            ("staff_password", PASSWORD, True),
            ("django_secret_key", stack.env["DJANGO_SECRET_KEY"], True),
            ("key_ring", stack.env["KESSAI_SECRET_KEYS"].partition(":")[2], True),
            ("webhook_secret", endpoint["secret"], False),
            ("webhook_token", account["webhook_urls"]["payment"].rsplit("token=", 1)[1], False),
            ("buyer_token", paid["buyer_token"], True),
        ]:
            assert registry.add(kind, value, db=db) is not None, kind

        logs = sorted(path for path in (tmp_path / "stack").glob("*.log") if not path.name.startswith("sandbox-"))
        before = line_counts(logs)
        leaks = scan(registry, logs, database_url, offsets=before)

        # Not vacuous: the logs and the dump hold the run's traces.
        web_log = next(p for p in logs if p.name.startswith("web-")).read_text()
        assert f"/api/v1/payments/{payment_id}/capture" in web_log
        assert any(line.startswith("{") and '"request_id"' in line for line in web_log.splitlines())
        assert sum(before.values()) > 50
        cells = list(dump(database_url))
        assert any(text == "SCAN-1" for _, text in cells)
        assert any(where.startswith("db: payments_paymenterror.") for where, _ in cells)
        assert len({where.split(".")[0] for where, _ in cells}) >= 15

        # Planted: the secret key in a payment method's description (a table) and in a request path (a log line).
        methods = api(web, key, "GET", "/payment-methods").json()["data"]
        api(web, key, "PATCH", f"/payment-methods/{methods[0]['id']}", {"description": f"<p>{secret_key}</p>"})
        httpx.get(f"{web.url}/planted/{secret_key}", timeout=10.0)
    finally:
        stack.stop_all()

    assert [str(leak) for leak in leaks] == []
    web_log_name = next(p for p in logs if p.name.startswith("web-")).name
    found = {(leak.secret.kind, _place(leak)) for leak in scan(registry, logs, database_url)}
    assert found == {
        ("credential:atone.secret_key", "db: shops_paymentmethod.description"),
        ("credential:atone.secret_key", f"log: {web_log_name}"),
    }


def _place(leak: Leak) -> str:
    """ "db: table.column (row …)" → "db: table.column"; "log: file:line" → "log: file"."""
    if leak.where.startswith("db: "):
        return leak.where.split(" (row", 1)[0]
    return leak.where.rsplit(":", 1)[0]


def _order(number: str) -> dict[str, Any]:
    return {
        "shop_order_no": number,
        "amount": 13824,
        "items": [
            {"sku": "P-1", "name": "1人掛けソファ", "unit_price": 12800, "quantity": 1},
            {"sku": "ship", "name": "送料", "unit_price": 1024, "quantity": 1},
        ],
        "customer": {
            "name": "山田 太郎",
            "name_kana": "ヤマダ タロウ",
            "email": "taro@example.jp",
            "phone": "090-1234-5678",
            "zip_code": "107-0052",
            "address": "東京都港区赤坂1-2-3",
        },
        "destinations": [],
    }
