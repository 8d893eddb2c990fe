"""Scale-out: two web instances (``kessai serve``, gunicorn) and three workers (``kessai worker``) as separate
processes on one PostgreSQL, in front of the atone and Paidy emulators (``kessai sandbox``).

Orders and payments go through both web instances alternately (create, authorize with a stored buyer token,
capture, cancel, refund, declines), with duplicates raced at *different* instances (same ``Idempotency-Key``,
and concurrent cancels without one); a bulk capture job runs on the worker fleet; then a 継続課金 run: the
billing day of 90 subscriptions arrives at once and the three workers' schedulers compete for the due set.

The ledgers are checked three ways: the emulators' own ledgers (``GET /_sandbox/ledger``: every movement of
every transaction), the hub's database, and the Prometheus counters of all five processes (two web endpoints,
three ``kessai worker --metrics-port`` endpoints). Nothing charged twice, nothing lost, every cycle charged
once, every operation the API accepted present, and the billing work really spread over the three workers.

PostgreSQL only (SQLite would serialise the processes on one file lock). Run it with
``scripts/pg-cluster .venv/bin/pytest tests/scaleout -q -s -p no:cacheprovider``; ``.ci/run`` runs it in its
PostgreSQL phase. It uses a database of its own on that server.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.processes import Service, Stack, create_database, drop_database, is_postgres, wait_ready

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not is_postgres(),
        reason="scale-out needs PostgreSQL (several processes on SQLite serialise on one file lock): "
        "run under scripts/pg-cluster, as the PostgreSQL phase of .ci/run does",
    ),
]

JST = ZoneInfo("Asia/Tokyo")
ATONE_KEYS = {"public_key": "kessai-demo-atone-pk01", "secret_key": "kessai-demo-atone-sk01"}
PAIDY_KEYS = {"public_key": "pk_test_kessai_demo_paidy01", "secret_key": "sk_test_kessai_demo_paidy01"}
PROVIDERS = ("atone", "paidy")
WORKERS = 3
# Per-order scripts; each runs on both providers. "declined": atone's 「NPテスト」 rule, Paidy's rejected buyer.
SCRIPTS = ("capture", "cancel", "capture_cancel", "authorize", "refund", "declined")
ORDERS_PER_SCRIPT = 2  # per provider
BULK = 8  # authorized atone payments captured by one bulk job
RACES = 4  # rounds of each duplicate race
SUBSCRIPTIONS = {"atone": 60, "paidy": 30}
BILLING_LATENCY_MS = 40  # keeps each worker's batch of 20 charges in flight long enough for the others to claim
REFUND = 1000

CUSTOMER = {
    "name": "山田 太郎",
    "name_kana": "ヤマダ タロウ",
    "email": "taro@example.jp",
    "phone": "090-1234-5678",
    "zip_code": "107-0052",
    "address": "東京都港区赤坂1-2-3",
}
DESTINATION = {"name": "山田 花子", "zip_code": "107-0052", "address": "東京都港区赤坂1-2-3", "phone": "03-1234-5678"}


# --------------------------------------------------------------------------- the API, through either instance


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool
    instance: int


class Api:
    """The shop's REST API through web instance 0 or 1 (``i % 2``)."""

    def __init__(self, urls: list[str], api_key: str) -> None:
        self.urls = urls
        self.client = httpx.Client(headers={"Authorization": f"Bearer {api_key}"}, timeout=60.0)
        self.served: Counter[int] = Counter()
        self._lock = threading.Lock()

    def call(self, i: int, method: str, path: str, body: Any = None, key: str | None = None) -> Answer:
        instance = i % len(self.urls)
        headers = {"Idempotency-Key": key} if key else {}
        response = self.client.request(
            method, self.urls[instance] + "/api/v1" + path, json=body, headers=headers or None
        )
        with self._lock:
            self.served[instance] += 1
        payload = response.json() if response.content else {}
        return Answer(response.status_code, payload, response.headers.get("Idempotent-Replayed") == "true", instance)

    def post(self, i: int, path: str, body: Any = None, key: str | None = None) -> Answer:
        return self.call(i, "POST", path, body, key)

    def get(self, i: int, path: str) -> Answer:
        return self.call(i, "GET", path)

    def close(self) -> None:
        self.client.close()


def order_body(no: str, amount: int = 13824, name: str = CUSTOMER["name"]) -> dict[str, Any]:
    return {
        "shop_order_no": no,
        "amount": amount,
        "items": [
            {"sku": "P-1", "name": "1人掛けソファ", "unit_price": amount - 1024, "quantity": 1},
            {"sku": "ship", "name": "送料", "unit_price": 1024, "quantity": 1},
        ],
        "customer": {**CUSTOMER, "name": name},
        "destinations": [DESTINATION],
    }


def expect(answer: Answer, status: int, what: str) -> dict[str, Any]:
    assert answer.status == status, f"{what} via web {answer.instance}: HTTP {answer.status} {answer.body}"
    return answer.body


# --------------------------------------------------------------------------- what the test expects to find


@dataclass
class Book:
    """What the API accepted: per payment, the operations it answered 2xx for (replays excluded; a decline
    counts as the charge the provider answered) and the last state it showed; the orders it created."""

    operations: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    final: dict[str, dict[str, Any]] = field(default_factory=dict)
    declined: set[str] = field(default_factory=set)
    orders: dict[str, str] = field(default_factory=dict)  # shop_order_no → order id
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self, kind: str, answer: Answer, status: int = 200) -> dict[str, Any]:
        payment = expect(answer, status, kind)
        with self.lock:
            if not answer.replayed:
                self.operations[payment["id"]][kind] += 1
            # answers of concurrent calls arrive in any order: keep the one that shows the longest history
            shown = self.final.get(payment["id"])
            if shown is None or len(payment["operations"]) >= len(shown["operations"]):
                self.final[payment["id"]] = payment
        return payment


def start_payment(
    api: Api, book: Book, i: int, order_id: str, provider: str, token: str, key: str | None = None
) -> dict[str, Any]:
    body = {"payment_method": provider, "authentication_token": token}
    return book.accepted("charge", api.post(i, f"/orders/{order_id}/payments", body, key), 201)


def run_script(api: Api, book: Book, n: int, script: str, provider: str, tokens: dict[str, str]) -> None:
    """One order through alternating instances: step k goes to instance (n + k) % 2."""
    no = f"SO-{provider}-{script}-{n}"
    declined = script == "declined"
    name = "NPテスト 花子" if declined and provider == "atone" else CUSTOMER["name"]
    order = expect(api.post(n, "/orders", order_body(no, name=name), key=f"order-{no}"), 201, "create order")
    with book.lock:
        book.orders[no] = order["id"]
    token = tokens[f"{provider}-rejected"] if declined and provider == "paidy" else tokens[provider]
    if declined:
        answer = api.post(
            n + 1, f"/orders/{order['id']}/payments", {"payment_method": provider, "authentication_token": token}
        )
        body = expect(answer, 402, "declined payment")
        assert body["code"] == "payment_declined", body
        with book.lock:
            book.declined.add(body["payment"])
            book.operations[body["payment"]]["charge"] += 1
        return
    payment = start_payment(api, book, n + 1, order["id"], provider, token, key=f"pay-{no}")
    assert payment["state"] == "authorized", payment
    pid = payment["id"]
    if script in ("capture", "capture_cancel", "refund"):
        payment = book.accepted("capture", api.post(n, f"/payments/{pid}/capture", key=f"cap-{no}"))
        assert payment["state"] == "captured", payment
    if script in ("cancel", "capture_cancel"):
        payment = book.accepted("cancel", api.post(n + 1, f"/payments/{pid}/cancel", key=f"can-{no}"))
        assert payment["state"] == "cancelled", payment
    if script == "refund":
        payment = book.accepted(
            "refund", api.post(n + 1, f"/payments/{pid}/refund", {"amount": REFUND}, key=f"ref-{no}")
        )
        assert payment["refunded_amount"] == REFUND, payment


def race(calls: list[Callable[[], Answer]]) -> list[Answer]:
    """Run the calls at the same instant (one thread each, released by a barrier)."""
    barrier = threading.Barrier(len(calls))

    def go(call: Callable[[], Answer]) -> Answer:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(go, calls))


def settle_duplicate(answers: list[Answer], resend: Callable[[int], Answer], ok: int) -> list[Answer]:
    """A duplicate that met the first request still running (409 ``idempotency_key_in_use``) is sent again to
    the same instance, as a client would, until it gets the stored answer."""
    settled = []
    for answer in answers:
        deadline = time.monotonic() + 30
        while answer.status == 409 and answer.body.get("code") == "idempotency_key_in_use":
            assert time.monotonic() < deadline, "idempotency key stayed in use for 30 s"
            time.sleep(0.05)
            answer = resend(answer.instance)
        assert answer.status == ok, f"duplicate via web {answer.instance}: HTTP {answer.status} {answer.body}"
        settled.append(answer)
    originals = [a for a in settled if not a.replayed]
    assert len(originals) == 1, f"exactly one request may run, the others replay: {[vars(a) for a in settled]}"
    assert len({a.body["id"] for a in settled}) == 1, "both instances must answer with the same object"
    return settled


def same_key_at_both(api: Api, path: str, body: Any, ok: int, outcomes: Counter[str]) -> list[Answer]:
    """The same request with the same ``Idempotency-Key`` sent to both instances at the same instant."""
    key = f"race-{secrets.token_hex(8)}"

    def send(i: int) -> Answer:
        return api.post(i, path, body, key)

    raced = race([functools.partial(send, i) for i in (0, 1)])
    outcomes.update(f"{path.rsplit('/', 1)[-1]}:{a.status}{':replayed' if a.replayed else ''}" for a in raced)
    return settle_duplicate(raced, send, ok)


def keyless_at_both(api: Api, path: str, body: Any, outcomes: Counter[str], repeatable: bool) -> list[Answer]:
    """The same operation without a key at both instances at once. The payment's row lock and in-flight
    operation let one through at a time: the other is refused (409) before any provider call, or — only for
    an operation that may legitimately run twice (a partial refund) — runs after the first has finished."""
    raced = race([functools.partial(api.post, i, path, body) for i in (0, 1)])
    outcomes.update(f"{path.rsplit('/', 1)[-1]}:{a.status}:{a.body.get('code', '')}" for a in raced)
    statuses = sorted(a.status for a in raced)
    allowed = ([200, 200], [200, 409]) if repeatable else ([200, 409],)
    assert statuses in allowed, f"{path}: a second request reached the provider? {[vars(a) for a in raced]}"
    for refused in (a for a in raced if a.status == 409):
        assert refused.body.get("code") in {"operation_in_progress", "invalid_transition"}, refused.body
    return [a for a in raced if a.status == 200]


def run_races(api: Api, book: Book, tokens: dict[str, str]) -> dict[str, int]:
    """Duplicates sent to both instances at once: order, payment and capture with one key; then two partial
    refunds (rounds 0, 1) or two cancels (rounds 2, 3) without a key. Returns how the races ended."""
    outcomes: Counter[str] = Counter()
    for r in range(RACES):
        provider = PROVIDERS[r % 2]
        no = f"RACE-{provider}-{r}"
        order = same_key_at_both(api, "/orders", order_body(no), 201, outcomes)[0].body
        with book.lock:
            book.orders[no] = order["id"]
        pay = {"payment_method": provider, "authentication_token": tokens[provider]}
        for answer in same_key_at_both(api, f"/orders/{order['id']}/payments", pay, 201, outcomes):
            pid = book.accepted("charge", answer, 201)["id"]
        for answer in same_key_at_both(api, f"/payments/{pid}/capture", None, 200, outcomes):
            book.accepted("capture", answer)
        if r < RACES // 2:
            for answer in keyless_at_both(api, f"/payments/{pid}/refund", {"amount": REFUND}, outcomes, True):
                book.accepted("refund", answer)
        else:
            for answer in keyless_at_both(api, f"/payments/{pid}/cancel", None, outcomes, False):
                book.accepted("cancel", answer)
    return dict(sorted(outcomes.items()))


# --------------------------------------------------------------------------- reading the hub and the metrics


class Db:
    """Read-only SQL on the hub's database (the test process does not load Django's ORM for it)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def scalar(self, sql: str, *params: Any) -> Any:
        return self.rows(sql, *params)[0][0]

    def close(self) -> None:
        self.conn.close()


_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


def scrape(url: str) -> list[tuple[str, dict[str, str], float]]:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
    samples = []
    for line in response.text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
            samples.append((match["name"], labels, float(match["value"])))
    return samples


def total(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> int:
    return int(sum(v for n, ls, v in samples if n == name and all(ls.get(k) == w for k, w in labels.items())))


# --------------------------------------------------------------------------- the emulators' ledgers


@dataclass(frozen=True)
class Tx:
    """One provider transaction as the emulator recorded it, in the hub's terms."""

    ref: str
    key: str  # shop_transaction_no (atone) / order_ref (Paidy)
    state: str  # the hub's state name it corresponds to
    amount: int
    captured: int
    refunded: int
    moves: Counter[str]  # hub operation kind → money movements the emulator recorded


def atone_ledger(url: str) -> dict[str, Tx]:
    found = {}
    for row in httpx.get(url + "/_sandbox/ledger", timeout=10).json()["transactions"]:
        tx, mv = row["transaction"], row["movements"]
        state = {"authorized": "authorized", "settled": "captured", "cancelled": "cancelled", "declined": "declined"}
        captured = tx["amount"] if mv["settle"] else 0
        found[tx["id"]] = Tx(
            ref=tx["id"],
            key=tx["shop_transaction_no"],
            state=state.get(row["state"], row["state"]),
            amount=tx["amount"],
            captured=captured,
            # a cancel after the settle gives everything back: the hub books it as a full refund
            refunded=captured if row["state"] == "cancelled" else tx["amount_refund_total"],
            moves=Counter(
                {"charge": mv["create"], "capture": mv["settle"], "cancel": mv["cancel"], "refund": mv["refund"]}
            ),
        )
    return found


def paidy_ledger(url: str) -> dict[str, Tx]:
    found = {}
    for row in httpx.get(url + "/_sandbox/ledger", timeout=10).json()["payments"]:
        payment, mv = row["payment"], row["movements"]
        captured = sum(c["amount"] for c in payment["captures"])
        refunded = sum(r["amount"] for r in payment["refunds"])
        if row["state"] == "rejected":
            state = "declined"
        elif row["state"] == "authorized":
            state = "authorized"
        elif captured and refunded < captured:
            state = "captured"
        else:
            state = "cancelled"  # closed without a capture, or refunded in full (a cancel after capture)
        cancelled = state == "cancelled"
        found[payment["id"]] = Tx(
            ref=payment["id"],
            key=payment["order"]["order_ref"],
            state=state,
            amount=payment["amount"],
            captured=captured,
            refunded=refunded,
            # A cancel is a close before capture, a full refund after it (the adapter's documented choice).
            moves=Counter(
                {
                    "charge": mv["authorize"] + mv["reject"],
                    "capture": mv["capture"],
                    "cancel": mv["close"] + (mv["refund"] if cancelled and captured else 0),
                    "refund": 0 if cancelled else mv["refund"],
                }
            ),
        )
    return found


# --------------------------------------------------------------------------- the stack


@pytest.fixture
def database() -> Iterator[str]:
    url = create_database(os.environ["DATABASE_URL"], f"kessai_scaleout_{secrets.token_hex(3)}")
    yield url
    drop_database(url)


@pytest.fixture
def stack(tmp_path: Path, database: str) -> Iterator[Stack]:
    stack = Stack(tmp_path, database_url=database)
    yield stack
    stack.stop_all()


def print_logs_on_failure(stack: Stack) -> None:
    for service in stack.services:
        tail = service.log_text()[-1500:]
        if "Traceback" in tail or "ERROR" in tail:
            print(f"--- {service.name} ---\n{tail}")


def test_two_web_instances_and_three_workers_on_one_postgresql(stack: Stack, database: str) -> None:
    started = time.monotonic()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        timings[name] = round(time.monotonic() - started, 1)

    db = Db(database)
    try:
        # given: the emulators, 2 × kessai serve and 3 × kessai worker, each kind booted at once
        stack.migrate()
        atone, paidy = stack.emulator("atone"), stack.emulator("paidy")
        webs = [stack.web(workers=2, threads=4, start=False) for _ in range(2)]
        # The billing pass runs every second (instead of every minute) so the test need not wait for it.
        workers = [stack.worker("--every", "billing-run-due=1", metrics_port=0, start=False) for _ in range(WORKERS)]
        for service in (*webs, *workers):
            service.start(wait=False)
        wait_ready(*webs, *workers, timeout=120)  # generous: CI machines are sometimes busy
        shop = stack.create_shop("スケールアウト検証ショップ")
        lap("processes up")
        api = Api([web.url for web in webs], shop["api_key"])  # type: ignore[attr-defined]
        try:
            run(api, db, atone, paidy, webs, workers, lap)
        finally:
            api.close()
        assert min(api.served[0], api.served[1]) > 100, f"requests per instance: {dict(api.served)}"
    except BaseException:
        print_logs_on_failure(stack)
        raise
    finally:
        db.close()
    lap("done")
    print(f"\nrequests per web instance: {dict(api.served)}; timings (s since start): {timings}")


def run(
    api: Api,
    db: Db,
    atone: Service,
    paidy: Service,
    webs: list[Service],
    workers: list[Service],
    lap: Callable[[str], None],
) -> None:
    atone_url, paidy_url = atone.url, paidy.url  # type: ignore[attr-defined]
    # the shop's accounts and payment methods, set up through both instances
    for i, (provider, keys, base) in enumerate(
        (("atone", ATONE_KEYS, atone_url + "/v1/"), ("paidy", PAIDY_KEYS, paidy_url + "/"))
    ):
        account = expect(
            api.post(
                i,
                "/provider-accounts",
                {"provider": provider, "environment": "test", "credentials": keys, "base_url": base},
            ),
            201,
            f"{provider} account",
        )
        expect(
            api.post(
                i + 1, "/payment-methods", {"provider_account": account["id"], "code": provider, "name": provider}
            ),
            201,
            f"{provider} payment method",
        )
    tokens = {
        "atone": httpx.post(atone_url + "/_sandbox/authenticate", json={"phone_number": "09012345678"}).json()[
            "authentication_token"
        ],
        "paidy": httpx.post(
            paidy_url + "/_sandbox/tokens", json={"email": "successful.payment@paidy.com", "phone": "08000000001"}
        ).json()["id"],
        "paidy-rejected": httpx.post(
            paidy_url + "/_sandbox/tokens", json={"email": "rejected.payment@paidy.com", "phone": "08000000002"}
        ).json()["id"],
    }
    book = Book()

    # when: orders through both instances, eight at a time
    jobs = [
        (n, script, provider)
        for n, (script, provider, _) in enumerate(
            (s, p, k) for s in SCRIPTS for p in PROVIDERS for k in range(ORDERS_PER_SCRIPT)
        )
    ]
    bulk_ids: list[str] = []

    def bulk_payment(n: int) -> None:
        order = expect(api.post(n, "/orders", order_body(f"BULK-{n}")), 201, "bulk order")
        bulk_ids.append(start_payment(api, book, n + 1, order["id"], "atone", tokens["atone"])["id"])

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(run_script, api, book, n, script, provider, tokens) for n, script, provider in jobs]
        futures += [pool.submit(bulk_payment, n) for n in range(BULK)]
        for future in futures:
            future.result()
    lap("order scripts")

    # and: duplicates raced at the two instances
    race_outcomes = run_races(api, book, tokens)
    print(f"\nraces (status[:replayed|:code] → count): {race_outcomes}")
    lap("races")

    # and: one bulk capture job, started on one instance, watched on the other, run by the worker fleet
    job = expect(api.post(1, "/bulk-jobs", {"action": "capture", "payment_ids": bulk_ids}), 202, "bulk job")
    deadline = time.monotonic() + 30
    while (job := expect(api.get(0, f"/bulk-jobs/{job['id']}"), 200, "bulk job"))["state"] != "done":
        assert time.monotonic() < deadline, f"bulk job not done in 30 s: {job}"
        time.sleep(0.2)
    assert (job["succeeded"], job["failed"]) == (BULK, 0), job
    for pid in bulk_ids:
        book.operations[pid]["capture"] += 1
        book.final[pid] = {**book.final[pid], "state": "captured", "captured_amount": book.final[pid]["amount"]}
    lap("bulk job")

    # and: 継続課金 — 90 subscriptions registered through both instances for tomorrow …
    today = datetime.now(JST).date()
    plans = ["atone"] * SUBSCRIPTIONS["atone"] + ["paidy"] * SUBSCRIPTIONS["paidy"]

    def buyer_token(n: int, provider: str) -> str:
        """Each subscriber's own token, as the first checkout would have left it."""
        if provider == "atone":
            answer = httpx.post(atone_url + "/_sandbox/authenticate", json={"phone_number": f"0801234{n:04d}"})
            return str(answer.json()["authentication_token"])
        buyer = {"email": "successful.payment@paidy.com", "phone": "08000000001"}
        return str(httpx.post(paidy_url + "/_sandbox/tokens", json=buyer).json()["id"])

    def subscribe(n: int) -> str:
        provider = plans[n]
        token = buyer_token(n, provider)
        amount = 1000 + n
        body = {
            "payment_method": provider,
            "authentication_token": token,
            "customer": CUSTOMER,
            "items": [{"sku": "SUB", "name": "定期便 コーヒー豆", "unit_price": amount, "quantity": 1}],
            "amount": amount,
            "first_billing_on": (today + timedelta(days=1)).isoformat(),
            "member_no": f"M{n:04d}",
        }
        return str(expect(api.post(n, "/subscriptions", body, key=f"sub-{n}"), 201, "subscription")["id"])

    with ThreadPoolExecutor(8) as pool:
        subscriptions = list(pool.map(subscribe, range(len(plans))))
    for url in (atone_url, paidy_url):
        httpx.post(url + "/_sandbox/faults", json={"latency_ms": BILLING_LATENCY_MS}).raise_for_status()
    # … and their billing day arrives for all of them at once (as midnight JST would): the workers' schedulers,
    # each polling every second, compete for the due set.
    shop_id = db.scalar("SELECT shop_id FROM billing_subscription WHERE id = %s", subscriptions[0])
    db.rows("UPDATE billing_subscription SET next_billing_on = %s WHERE shop_id = %s RETURNING id", today, shop_id)
    lap("subscriptions due")
    deadline = time.monotonic() + 45
    while (
        charged := db.scalar(
            "SELECT count(*) FROM billing_subscriptioncycle "
            "WHERE shop_id = %s AND cycle_date = %s AND status = 'charged'",
            shop_id,
            today,
        )
    ) < len(subscriptions):
        assert time.monotonic() < deadline, f"only {charged} of {len(subscriptions)} cycles charged after 45 s"
        time.sleep(0.25)
    for url in (atone_url, paidy_url):
        httpx.delete(url + "/_sandbox/faults").raise_for_status()
    lap("billing run")

    # then: nothing is in doubt in the hub
    in_doubt = db.rows("SELECT payment_id, kind, result FROM payments_operation WHERE result IN ('pending', 'unknown')")
    assert in_doubt == [], in_doubt

    check_orders(api, db, book, shop_id)
    check_payments_against_ledgers(db, book, shop_id, atone_url, paidy_url)
    check_billing(db, shop_id, subscriptions, today, atone_url, paidy_url)
    check_metrics(db, shop_id, webs, workers, atone_url, paidy_url, len(subscriptions))
    lap("checks")


# --------------------------------------------------------------------------- the checks


def check_orders(api: Api, db: Db, book: Book, shop_id: str) -> None:
    """Every order the API created exists once (races included), and both instances read the same payments."""
    rows = db.rows("SELECT shop_order_no, id FROM payments_order WHERE shop_id = %s", shop_id)
    by_no = Counter(no for no, _ in rows)
    assert [no for no, n in by_no.items() if n > 1] == [], "an order was created twice"
    stored = dict(rows)
    for no, order_id in book.orders.items():
        assert stored.get(no) == order_id, f"order {no} answered as {order_id}, stored as {stored.get(no)}"
    for i, (pid, shown) in enumerate(sorted(book.final.items())):
        fresh = expect(api.get(i, f"/payments/{pid}"), 200, "read back")
        keys = ("state", "provider_ref", "amount", "captured_amount", "refunded_amount")
        assert {k: fresh[k] for k in keys} == {k: shown[k] for k in keys}, f"payment {pid} read back differs"


def check_payments_against_ledgers(db: Db, book: Book, shop_id: str, atone_url: str, paidy_url: str) -> None:
    """Hub payments ↔ emulator transactions one to one; per transaction, the money movements the emulator
    recorded equal the operations the hub recorded as succeeded (declines: the failed charge), and those equal
    what the API accepted."""
    ledgers = {"atone": atone_ledger(atone_url), "paidy": paidy_ledger(paidy_url)}
    payments = db.rows(
        "SELECT id, provider, provider_ref, state, amount, captured_amount, refunded_amount, shop_transaction_no "
        "FROM payments_payment WHERE shop_id = %s",
        shop_id,
    )
    ops: dict[str, Counter[str]] = defaultdict(Counter)
    for pid, kind, result, n in db.rows(
        "SELECT o.payment_id, o.kind, o.result, count(*) FROM payments_operation o "
        "JOIN payments_payment p ON p.id = o.payment_id WHERE p.shop_id = %s GROUP BY 1, 2, 3",
        shop_id,
    ):
        if result == "succeeded" or (kind == "charge" and result == "failed"):
            ops[pid][kind] += n
    # Invariant 1 across processes: never two operations of one payment in flight at once — each one starts
    # (its row is written under the payment's lock) after the previous one completed.
    timeline: dict[str, list[tuple[Any, Any, str]]] = defaultdict(list)
    for pid, created, completed, op_id in db.rows(
        "SELECT o.payment_id, o.created_at, o.completed_at, o.id FROM payments_operation o "
        "JOIN payments_payment p ON p.id = o.payment_id WHERE p.shop_id = %s AND o.kind <> 'refresh' "
        "ORDER BY o.created_at, o.id",
        shop_id,
    ):
        timeline[pid].append((created, completed, op_id))
    for pid, history in timeline.items():
        for (_, done, first), (begun, _, second) in itertools.pairwise(history):
            assert done is not None, f"payment {pid}: {first} never completed"
            assert begun >= done, f"payment {pid}: {second} began while {first} was in flight"
    seen: dict[str, set[str]] = {"atone": set(), "paidy": set()}
    for pid, provider, ref, state, amount, captured, refunded, stn in payments:
        assert ref, f"payment {pid} ({state}) has no provider transaction"
        tx = ledgers[provider].get(ref)
        assert tx is not None, f"payment {pid}: {provider} has no transaction {ref}"
        assert ref not in seen[provider], f"{provider} transaction {ref} belongs to two payments"
        seen[provider].add(ref)
        assert (tx.state, tx.amount, tx.key) == (state, amount, stn), (pid, tx, state, amount, stn)
        assert (tx.captured, tx.refunded) == (captured, refunded), (pid, tx, captured, refunded)
        moves = +tx.moves
        assert moves == +ops[pid], f"payment {pid}: {provider} moved {dict(moves)}, the hub recorded {dict(ops[pid])}"
        assert moves["charge"] == 1, f"payment {pid}: charged {moves['charge']} times at {provider}"
    for provider, ledger in ledgers.items():
        lost = set(ledger) - seen[provider]
        assert lost == set(), f"{provider} transactions the hub does not know (a lost or doubled charge): {lost}"
    for pid, accepted in book.operations.items():
        assert +accepted == +ops[pid], f"payment {pid}: the API accepted {dict(accepted)}, the hub has {dict(ops[pid])}"
    declined = {pid for pid, _, _, state, *_ in payments if state == "declined"}
    assert declined == book.declined, "the declines are the payments the API answered 402 for"
    states = Counter(state for _, _, _, state, *_ in payments)
    print(
        f"\npayments by state: {dict(states)}; transactions: " + ", ".join(f"{p} {len(t)}" for p, t in ledgers.items())
    )


def check_billing(db: Db, shop_id: str, subscriptions: list[str], today: Any, atone_url: str, paidy_url: str) -> None:
    """Every subscription: one cycle today, charged, its payment authorized under the cycle's key, and exactly
    one transaction with that key at the provider."""
    cycles = db.rows(
        "SELECT c.subscription_id, c.cycle_date, c.status, c.attempts, p.state, p.shop_transaction_no, p.provider "
        "FROM billing_subscriptioncycle c JOIN payments_payment p ON p.id = c.payment_id WHERE c.shop_id = %s",
        shop_id,
    )
    per_sub = Counter(sub for sub, *_ in cycles)
    assert sorted(per_sub) == sorted(subscriptions), "a subscription without a cycle, or a cycle of another"
    assert set(per_sub.values()) == {1}, f"cycles per subscription: {per_sub.most_common(3)}"
    keys = {
        "atone": Counter(t.key for t in atone_ledger(atone_url).values()),
        "paidy": Counter(t.key for t in paidy_ledger(paidy_url).values()),
    }
    for sub, cycle_date, status, attempts, state, stn, provider in cycles:
        assert (cycle_date, status, attempts, state) == (today, "charged", 1, "authorized"), (
            sub,
            cycle_date,
            status,
            state,
        )
        assert stn == f"SUB-{sub.removeprefix('sub_')}-{today:%Y%m%d}", (sub, stn)
        assert keys[provider][stn] == 1, f"{provider} has {keys[provider][stn]} transactions for {stn}"


def check_metrics(
    db: Db, shop_id: str, webs: list[Service], workers: list[Service], atone_url: str, paidy_url: str, n_subs: int
) -> None:
    """The five metrics endpoints together account for every provider request the emulators received, and
    the billing work was done by all three workers."""
    web_samples = [scrape(web.url + "/metrics") for web in webs]  # type: ignore[attr-defined]
    worker_samples = [scrape(w.metrics_url) for w in workers]  # type: ignore[attr-defined]
    charged = [total(s, "kessai_billing_cycles_total", outcome="charged") for s in worker_samples]
    token_charges = [total(s, "kessai_provider_calls_total", operation="charge_token") for s in worker_samples]
    print(f"\nbilling cycles charged per worker: {charged}; provider charges per worker: {token_charges}")
    assert sum(charged) == n_subs, charged
    assert sum(token_charges) == n_subs, token_charges
    assert all(n > 0 for n in charged), f"every worker must have charged cycles (SKIP LOCKED spreads them): {charged}"
    assert sum(total(s, "kessai_tasks_total", status="SUCCESSFUL") for s in worker_samples) >= 1, "the bulk job"
    web_calls = [total(s, "kessai_provider_calls_total") for s in web_samples]
    assert all(n > 0 for n in web_calls), f"both web instances must have called providers: {web_calls}"
    # One counted call is one write at the provider (a Paidy refund or cancel also reads the payment first,
    # inside the same call): per provider, the writes the emulator received equal the calls the metrics count.
    for provider, url in (("atone", atone_url), ("paidy", paidy_url)):
        writes = sum(
            1 for r in httpx.get(url + "/_sandbox/requests", timeout=10).json()["requests"] if r["method"] != "GET"
        )
        counted = sum(
            v
            for samples in (*web_samples, *worker_samples)
            for name, labels, v in samples
            if name == "kessai_provider_calls_total"
            and labels["provider"] == provider
            and labels["operation"] not in {"fetch", "test_connection"}
        )
        assert counted == writes, (
            f"{provider}: the metrics count {counted} calls, the emulator received {writes} writes"
        )
    in_doubt = [total(s, "kessai_operations_in_doubt") for s in web_samples]
    assert in_doubt == [0, 0], in_doubt
