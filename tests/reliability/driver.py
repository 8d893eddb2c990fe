"""One run of the fault suite (``make faults``; the short version is tests/reliability/test_faults.py).

    scripts/pg-cluster .venv/bin/python -m tests.reliability.driver --operations 10000 \\
        --json bench/results/faults.json --markdown docs/reliability.md

1. **Stack** — a fresh PostgreSQL database; the emulators of atone, Paidy, NP後払い and GMO後払い (``kessai
   sandbox``), ``kessai serve`` (gunicorn, 2 workers × 8 threads) and ``kessai worker`` (janitor every 2 s), each a
   process of its own; one shop with a test account per provider pointing at its emulator, webhook URLs pasted
   into the emulators. ``KESSAI_PROVIDER_TIMEOUT`` is low (1 s) so that latency becomes timeouts; the operation
   and Idempotency-Key leases are short (documented settings) so that what a killed process left behind is
   taken over within seconds, not minutes.
2. **Load** — ``--concurrency`` client threads run flows (:mod:`.workload`) until ``--operations`` payment
   operations were attempted, while :mod:`.chaos` injects faults and kills processes.
3. **Settle** — faults off; the webhooks still queued at the emulators are delivered; every request left without
   an answer is sent again with its key; the janitor and the webhook sweeper run until nothing is in doubt; staff
   repeat what the hub flagged as unconfirmable (NP後払い / GMO後払い cannot report a shipment or a cancel).
4. **Reconcile** — the hub's records (:mod:`.hubview`) against every emulator's ledger (:mod:`.reconcile`).

The seed is printed; ``--seed`` replays the same orders, choices and fault schedule.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import itertools
import json
import logging
import os
import platform
import random
import secrets
import shlex
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.processes import (
    ROOT,
    PostgresCluster,
    Service,
    Stack,
    create_database,
    drop_database,
    is_postgres,
    wait_ready,
)
from tests.reliability import reconcile
from tests.reliability.chaos import Chaos, webhook_faults
from tests.reliability.client import Api
from tests.reliability.providers import PROFILES, Profile
from tests.reliability.workload import Flow, Tally

PROVIDERS = ("atone", "paidy", "np_atobarai", "gmo_atobarai")
UNCONFIRMABLE = "確認できないため失敗として扱いました"
RESHIP = "出荷報告(伝票番号同期)をもう一度行ってください"
# 要確認 reasons, by the text the hub writes (kessai/payments/services.py), for the report.
REVIEW_KINDS = {
    "確認できませんでした": "unconfirmable_by_provider_api",
    "新しい取引の通知を待っています": "awaiting_new_transaction",
    "金額変更の結果が不明": "awaiting_new_transaction",
    "操作履歴と一致しません": "ledger_mismatch",
    "記録のない取引": "adopted_from_webhook",
    "矛盾しています": "state_conflict",
    "再送が拒否されました": "registration_resend_refused",
    "決済会社の取引IDを受け取っていません": "no_provider_id",
    RESHIP: "shipment_to_report_again",
}


@dataclass
class RunConfig:
    operations: int = 10_000
    seed: int = field(default_factory=lambda: random.SystemRandom().randrange(1 << 30))
    concurrency: int = 12
    providers: Sequence[str] = PROVIDERS
    provider_timeout: float = 1.0
    operation_lease: float = 10.0
    idempotency_lease: float = 15.0
    settle_timeout: float = 300.0
    chaos: bool = True
    label: str = "full"
    workdir: Path = field(default_factory=lambda: Path("var/faults"))


@contextlib.contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A new database on the cluster ``url`` points at (dropped afterwards)."""
    fresh = create_database(url, f"kessai_faults_{secrets.token_hex(4)}")
    # scripts/pg-cluster runs with synchronous_commit=off (fast tests), which acknowledges commits before they are
    # on disk: a crash (the pg_restart episode) then loses committed rows — such as the pending operation written
    # before a provider call — and no application survives that (the suite's first runs did not). Production
    # runs with the default, on.
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{urlsplit(fresh).path.lstrip("/")}" SET synchronous_commit = on')
    try:
        yield fresh
    finally:
        for _ in range(10):
            try:
                drop_database(fresh)
                break
            except psycopg.OperationalError:
                time.sleep(1)  # the server may still be recovering from the last restart


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def command_line() -> str:
    """How this run was started (``python -m tests.reliability.driver …`` under scripts/pg-cluster, or pytest)."""
    argv = list(sys.argv)
    if argv and argv[0].endswith("driver.py"):
        argv = ["scripts/pg-cluster", ".venv/bin/python", "-m", "tests.reliability.driver", *argv[1:]]
    return " ".join(shlex.quote(a) for a in argv)


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if "model name" in line
            ),
            "",
        )
    mem_kib = 0
    with contextlib.suppress(OSError, StopIteration, ValueError):
        mem_kib = int(
            next(
                line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
            ).split()[1]
        )
    postgres = ""
    pgbin = os.environ.get("KESSAI_PG_BIN")
    if pgbin:
        done = subprocess.run([f"{pgbin}/postgres", "--version"], capture_output=True, text=True, check=False)
        postgres = done.stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgres": postgres,
    }


class Run:
    def __init__(self, config: RunConfig, database_url: str) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.stack = Stack(
            config.workdir,
            database_url,
            extra_env={
                "KESSAI_PROVIDER_TIMEOUT": str(config.provider_timeout),
                "KESSAI_OPERATION_LEASE_SECONDS": str(config.operation_lease),
                "KESSAI_IDEMPOTENCY_LEASE_SECONDS": str(config.idempotency_lease),
                "KESSAI_LOG_LEVEL": "ERROR",
            },
        )
        self.profiles: list[Profile] = []
        self.tally = Tally()
        self.timings: dict[str, float] = {}
        self.staff: Counter[str] = Counter()
        self.staff_intents: Counter[tuple[str, str]] = Counter()
        self.web: Service | None = None
        self.worker: Service | None = None
        self.api: Api | None = None
        self.shop: dict[str, Any] = {}
        self.flows = 0
        self.after_janitor: list[reconcile.Finding] = []
        self.in_doubt: dict[str, Any] = {"answered": 0, "still_without_answer": []}

    # -- 1. the stack -------------------------------------------------------------------------------------

    def start(self) -> None:
        started = time.monotonic()
        emulators = []
        for code in self.config.providers:
            profile = PROFILES[code]()
            emulator = self.stack.emulator(code, None, *profile.emulator_args(), start=False).start(wait=False)
            profile.url = emulator.url  # type: ignore[attr-defined]
            self.profiles.append(profile)
            emulators.append(emulator)
        self.stack.migrate()  # while the emulators start
        wait_ready(*emulators)
        self.web = self.stack.web(workers=2, threads=8)
        self.worker = self.stack.worker("--every", "janitor=2", "--every", "inbound-webhooks=2")
        self.shop = self.stack.create_shop("障害試験ショップ")
        self.api = Api(self.web.url, self.shop["api_key"])  # type: ignore[attr-defined]
        for profile in self.profiles:
            account = self.api.post(
                "setup",
                "/provider-accounts",
                {
                    "provider": profile.code,
                    "environment": "test",
                    "credentials": profile.credentials(),
                    "base_url": profile.base_url,
                },
                f"setup-account-{profile.code}",
            )
            assert account.status == 201, account
            method = self.api.post(
                "setup",
                "/payment-methods",
                {"provider_account": account.body["id"], "code": profile.code, "name": profile.code},
                f"setup-method-{profile.code}",
            )
            assert method.status == 201, method
            profile.point_webhooks_at(account.body["webhook_urls"])
        self.timings["start_seconds"] = round(time.monotonic() - started, 1)

    # -- 2. load under faults -----------------------------------------------------------------------------

    def load(self) -> Chaos:
        assert self.api is not None
        assert self.web is not None
        assert self.worker is not None
        chaos = Chaos(
            rng=random.Random(self.rng.random()),
            profiles=self.profiles,
            web=self.web,
            worker=self.worker,
            provider_timeout=self.config.provider_timeout,
            postgres=PostgresCluster() if PostgresCluster.available() else None,
        )
        numbers = itertools.count(1)
        numbers_lock = threading.Lock()
        prefix = f"F{self.config.seed % 100_000:05d}"
        api = self.api

        def client() -> None:
            while self.tally.payment_operations < self.config.operations:
                with numbers_lock:
                    n = next(numbers)
                profile = self.profiles[n % len(self.profiles)]
                flow = Flow(api, profile, self.tally, random.Random(f"{self.config.seed}-{n}"), prefix, n)
                flow.run()

        started = time.monotonic()
        if self.config.chaos:
            webhook_faults(self.profiles)
            chaos.start()
        with ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="client") as pool:
            for future in [pool.submit(client) for _ in range(self.config.concurrency)]:
                future.result()
        chaos.finish()
        self.timings["load_seconds"] = round(time.monotonic() - started, 1)
        self.flows = next(numbers) - 1
        return chaos

    # -- 3. settle ----------------------------------------------------------------------------------------

    def hubview(self, *, summary: bool) -> dict[str, Any]:
        args = [sys.executable, "-m", "tests.reliability.hubview", "--shop", self.shop["shop_id"]]
        done = subprocess.run(
            [*args, *(["--summary"] if summary else [])],
            env=self.stack.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"hubview failed: {done.stderr[-3000:]}")
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        return answer

    def wait_settled(self, deadline: float) -> dict[str, Any]:
        """Until nothing is in doubt and every stored webhook is applied, or nothing changed for a minute."""
        last, unchanged_since = None, time.monotonic()
        while True:
            view = self.hubview(summary=True)
            settled = (
                view["open_operations"] == view["open_operations_for_staff"]
                and not view["inbound_webhooks"].get("received")
                and view["idempotency_in_progress"] == 0
                and view["shipments_to_report_again"] == 0
            )
            if settled or time.monotonic() > deadline:
                return view
            if view != last:
                print(f"  settling: {json.dumps(view)}", flush=True)
                last, unchanged_since = view, time.monotonic()
            elif time.monotonic() - unchanged_since > 60 and not view["inbound_webhooks"].get("received"):
                return view  # what is left cannot be settled by waiting
            time.sleep(2)

    def settle(self) -> dict[str, Any]:
        assert self.api is not None
        started = time.monotonic()
        deadline = started + self.config.settle_timeout
        for profile in self.profiles:
            if profile.capabilities.webhooks:
                profile.control("GET", "/webhooks?wait=30", timeout=60)
        self.timings["settle_webhooks_seconds"] = round(time.monotonic() - started, 1)
        answered, lost = self.api.resolve_in_doubt(patience=self.config.idempotency_lease + 30)
        self.in_doubt = {"answered": len(answered), "still_without_answer": [asdict(p) for p in lost]}
        self.timings["settle_requests_seconds"] = round(time.monotonic() - started, 1)
        self.wait_settled(deadline)
        self.timings["janitor_seconds"] = round(time.monotonic() - started, 1)
        before_staff = self.hubview(summary=False)
        self.after_janitor = reconcile.unresolved(reconcile.HubPayment.from_json(p) for p in before_staff["payments"])
        self.staff_actions(before_staff)
        if self.staff:
            self.wait_settled(deadline)
        self.timings["settle_seconds"] = round(time.monotonic() - started, 1)
        return self.hubview(summary=False)

    def staff_actions(self, hub: dict[str, Any]) -> None:
        """What the janitor leaves to staff, done as docs/reliability.md tells them:

        - an authorization whose outcome and provider id are unknown (flagged 要確認): look its number up in the
          provider's console (the emulator's ledger) → ``refresh`` with the id found, or ``close-unregistered``
          when there is none;
        - an operation flagged 「もう一度実行してください」 (the provider's API cannot confirm it): repeat it."""
        assert self.api is not None
        console: dict[tuple[str, str], list[reconcile.ProviderTx]] = {}
        for profile in self.profiles:
            for tx in profile.transactions(profile.ledger()):
                console.setdefault((tx.provider, tx.shop_transaction_no), []).append(tx)
        for payment in hub["payments"]:
            if not payment["needs_review"]:
                continue
            awaiting = any((op.get("data") or {}).get("awaiting_new_transaction") for op in payment["ops"])
            if awaiting and any(op["result"] == "unknown" for op in payment["ops"]):
                # an amount change whose new transaction no notice named: find it in the console by the 取引番号
                new = [
                    tx.ref
                    for tx in console.get((payment["provider"], payment["shop_transaction_no"]), [])
                    if tx.ref not in payment["refs"] and tx.status in reconcile.LIVE
                ]
                if len(new) != 1:
                    self.staff[f"new_transaction_in_console:{len(new)}"] += 1
                    continue
                key = f"staff-{payment['id']}-{secrets.token_hex(3)}"
                answer = self.api.post(
                    "staff_link", f"/payments/{payment['id']}/refresh", {"provider_ref": new[0]}, key
                )
                self.staff[f"link_new_transaction:{'ok' if answer.ok else answer.code or answer.status}"] += 1
                continue
            if not payment["provider_ref"] and payment["state"] in ("unknown", "authorizing"):
                found = [tx.ref for tx in console.get((payment["provider"], payment["shop_transaction_no"]), [])]
                key = f"staff-{payment['id']}-{secrets.token_hex(3)}"
                if len(found) == 1:
                    path, body, what = "refresh", {"provider_ref": found[0]}, "link_console_id"
                elif not found:
                    path, body, what = "close-unregistered", None, "close_unregistered"
                else:
                    self.staff["several_in_console"] += 1
                    continue
                answer = self.api.post(f"staff_{what}", f"/payments/{payment['id']}/{path}", body, key)
                self.staff[f"{what}:{'ok' if answer.ok else answer.code or answer.status}"] += 1
                continue
            if payment["state"] in ("cancelled", "declined"):
                continue
            if RESHIP in payment["review_reason"] and payment["state"] == "captured":
                # NP後払い re-registered the shipped transaction after an amount change and the hub's automatic
                # re-report of the same parcel did not go through: staff report it again.
                shipped = [
                    op for op in payment["ops"] if op["kind"] == "report_shipment" and op["result"] == "succeeded"
                ]
                data = shipped[-1].get("data") or {} if shipped else {}
                body = {"carrier": data.get("carrier"), "tracking_no": data.get("tracking_no")}
                key = f"staff-{payment['id']}-reship-{secrets.token_hex(3)}"
                answer = self.api.post("staff_reship", f"/payments/{payment['id']}/shipments", body, key)
                self.staff[f"report_shipment_again:{'ok' if answer.ok else answer.code or answer.status}"] += 1
                continue
            last: dict[str, dict[str, Any]] = {}
            for op in payment["ops"]:
                last[op["kind"]] = op
            for kind, op in last.items():
                if op["result"] != "failed" or UNCONFIRMABLE not in op["message"]:
                    continue
                data = op.get("data") or {}
                if kind == "report_shipment":
                    body: Any = {"carrier": data.get("carrier"), "tracking_no": data.get("tracking_no")}
                    suffix = "shipments"
                elif kind == "cancel":
                    body, suffix = None, "cancel"
                elif kind == "change_amount":
                    body, suffix = {"amount": op["amount"], "items": data.get("items")}, "change-amount"
                else:
                    continue
                key = f"staff-{payment['id']}-{kind}-{secrets.token_hex(3)}"
                self.staff_intents[(payment["id"], kind)] += 1
                answer = self.api.post(f"staff_{kind}", f"/payments/{payment['id']}/{suffix}", body, key)
                self.staff[f"{kind}:{'ok' if answer.ok else answer.code or answer.status}"] += 1

    # -- 4. reconcile -------------------------------------------------------------------------------------

    def reconcile(self, hub: dict[str, Any]) -> reconcile.Reconciliation:
        ledgers = {profile.code: profile.ledger() for profile in self.profiles}
        # The raw material, for a failure's post-mortem (the database is dropped after the run).
        (self.config.workdir / "hub.json").write_text(json.dumps(hub, ensure_ascii=False, default=str))
        (self.config.workdir / "ledgers.json").write_text(json.dumps(ledgers, ensure_ascii=False))
        provider_txs = [tx for profile in self.profiles for tx in profile.transactions(ledgers[profile.code])]
        payments = [reconcile.HubPayment.from_json(p) for p in hub["payments"]]
        lost = [f"{p['kind']} {p['path']} (key {p['key']})" for p in self.in_doubt["still_without_answer"]]
        intents = Counter(self.tally.intents)
        for (payment_id, kind), n in self.staff_intents.items():
            intents[(payment_id, kind)] += n
        return reconcile.reconcile(
            payments, provider_txs, requests_without_outcome=lost, intents=intents, review_kinds=REVIEW_KINDS
        )

    def stop(self) -> None:
        self.stack.stop_all()


def execute(config: RunConfig, database_url: str) -> dict[str, Any]:
    """The whole run; returns the results document (``passed`` says whether every invariant held)."""
    began = time.monotonic()
    print(f"fault suite ({config.label}): {config.operations} operations, seed {config.seed}", flush=True)
    run = Run(config, database_url)
    quiet = logging.getLogger("httpx")
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # thousands of requests: one log line each is noise
    try:
        run.start()
        chaos = run.load()
        injected = chaos.injected()
        hub = run.settle()
        result = run.reconcile(hub)
    finally:
        run.stop()
        quiet.setLevel(level)
    by_state = Counter(p["state"] for p in hub["payments"])
    injected_total: Counter[str] = Counter()
    for counts in injected.values():
        injected_total.update(counts)
    faults = {
        **{f"emulator:{kind}": n for kind, n in sorted(injected_total.items())},
        **{f"episode:{kind}": n for kind, n in sorted(chaos.episodes.items())},
    }
    document = {
        "label": config.label,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": _git("rev-parse", "--short", "HEAD") + ("+dirty" if _git("status", "--porcelain") else ""),
        "machine": machine(),
        "command": command_line(),
        "seed": config.seed,
        "config": {
            **{k: v for k, v in asdict(config).items() if k not in ("workdir", "seed")},
            "providers": list(config.providers),
        },
        "operations": {
            "payment_operations": run.tally.payment_operations,
            "orders": run.tally.attempted.get("create_order", 0),
            "flows": run.flows,
            "attempted_by_kind": dict(sorted(run.tally.attempted.items())),
            "by_provider": dict(sorted(run.tally.by_provider.items())),
            "answers": dict(sorted(run.tally.answers.items())),
            "client_retries": dict(sorted(run.api.retries.items())) if run.api else {},
            "in_doubt_answered_after_faults": run.in_doubt["answered"],
            "staff_repeats": dict(sorted(run.staff.items())),
        },
        "faults": {
            "injected": faults,
            "by_emulator": injected,
            "episodes": dict(sorted(chaos.episodes.items())),
            "unexpected_exits": dict(chaos.unexpected_exits),
            "episode_errors": chaos.errors,
        },
        "hub": {
            "payments": len(hub["payments"]),
            "by_state": dict(sorted(by_state.items())),
            "payment_errors": hub["payment_errors"],
            "inbound_webhooks": hub["inbound_webhooks_by_provider"],
            "open_operations": hub["open_operations"],
        },
        "reconciliation": result.to_json(),
        # What the janitor could not settle because the provider cannot be asked without its id (each one
        # flagged 要確認); staff then settled them from the provider's console (operations.staff_repeats).
        "unresolved_after_janitor": {
            "payments": sum(1 for f in run.after_janitor if f.kind.startswith("payment_")),
            "operations": sum(1 for f in run.after_janitor if not f.kind.startswith("payment_")),
            "by_kind": dict(sorted(Counter(f.kind for f in run.after_janitor).items())),
            "payments_by_provider": dict(
                sorted(Counter(f.provider for f in run.after_janitor if f.kind.startswith("payment_")).items())
            ),
        },
        "timings": {**run.timings, "total_seconds": round(time.monotonic() - began, 1)},
    }
    document["passed"] = not result.failures and not chaos.errors
    return document


# -- reporting ----------------------------------------------------------------------------------------------

MARK = "<!-- faults:{label}:{edge} -->"


def markdown(doc: dict[str, Any]) -> str:
    ops, rec, faults = doc["operations"], doc["reconciliation"], doc["faults"]
    after = doc["unresolved_after_janitor"]
    m = doc["machine"]
    lines = [
        f"Run **{doc['label']}** — {doc['date']}, commit `{doc['commit']}`, seed `{doc['seed']}`, "
        f"{'passed' if doc['passed'] else '**FAILED**'} in {doc['timings']['total_seconds']:.0f} s "
        f"(start {doc['timings'].get('start_seconds', 0):.0f} s, load {doc['timings'].get('load_seconds', 0):.0f} s, "
        f"settle {doc['timings'].get('settle_seconds', 0):.0f} s).",
        "",
        f"Machine: {m['cpu']} ({m['cores']} cores, {m['memory_gib']} GiB), {m['postgres']}, Python {m['python']}. "
        f"Load: {doc['config']['concurrency']} client threads against 1 web process (gunicorn 2 × 8 threads), "
        f"1 worker and 4 emulator processes on the same machine; "
        f"`KESSAI_PROVIDER_TIMEOUT={doc['config']['provider_timeout']}`.",
        "",
        f"Command: `{doc['command']}`",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| payment operations attempted | **{ops['payment_operations']:,}** ({ops['orders']:,} orders) |",
        "| … by kind | " + ", ".join(f"{k} {v:,}" for k, v in ops["attempted_by_kind"].items()) + " |",
        "| … by provider | " + ", ".join(f"{k} {v:,}" for k, v in ops["by_provider"].items()) + " |",
        "| answers | " + ", ".join(f"{k} {v:,}" for k, v in ops["answers"].items()) + " |",
        "| requests re-sent with the same key | "
        + (", ".join(f"{k} {v:,}" for k, v in ops["client_retries"].items()) or "0")
        + " |",
        f"| requests answered only after the faults stopped | {ops['in_doubt_answered_after_faults']:,} |",
        "| faults injected | "
        + ", ".join(f"{k.split(':', 1)[1]} {v:,}" for k, v in faults["injected"].items() if k.startswith("emulator:"))
        + " |",
        "| process kills and restarts | "
        + ", ".join(
            f"{k} {v:,}" for k, v in faults["episodes"].items() if k in ("kill_web", "kill_worker", "pg_restart")
        )
        + " |",
        "| fault episodes | " + ", ".join(f"{k} {v:,}" for k, v in faults["episodes"].items()) + " |",
        f"| provider transactions / hub payments | {rec['provider_transactions']:,} / {rec['hub_payments']:,} |",
        f"| **double movements** | **{rec['double_movements']}** |",
        f"| **lost records** | **{rec['lost_records']}** |",
        "| unknowns the janitor could not settle (no provider id; flagged 要確認 for staff) | "
        + (
            f"{after['payments']} payments: " + ", ".join(f"{k} {v}" for k, v in after["payments_by_provider"].items())
            if after["payments"]
            else "0"
        )
        + " |",
        f"| **unknowns unresolved after the janitor and staff** | **{rec['unresolved']}** |",
        f"| hub / provider disagreements | {rec['disagreements']} |",
        "| 要確認 (flagged for staff) | "
        + (", ".join(f"{k} {v}" for k, v in rec["needs_review_by_kind"].items()) or "0")
        + " |",
        "| staff actions (console id linked, closed as not registered, repeats of unconfirmable operations) | "
        + (", ".join(f"{k} {v}" for k, v in ops["staff_repeats"].items()) or "0")
        + " |",
    ]
    return "\n".join(lines)


def write_markdown(path: Path, doc: dict[str, Any]) -> None:
    begin, end = MARK.format(label=doc["label"], edge="begin"), MARK.format(label=doc["label"], edge="end")
    text = path.read_text() if path.exists() else ""
    block = f"{begin}\n{markdown(doc)}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.driver", description=__doc__.split("\n\n")[0])
    parser.add_argument("--operations", type=int, default=10_000, help="payment operations to attempt")
    parser.add_argument("--seed", type=int, default=None, help="replay a run (printed at start)")
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--providers", default=",".join(PROVIDERS))
    parser.add_argument("--label", default="full", help="the run's name in the JSON and in the markdown")
    parser.add_argument("--no-chaos", action="store_true", help="no faults (a baseline)")
    parser.add_argument("--json", type=Path, help="write the results document here")
    parser.add_argument("--markdown", type=Path, help="update this run's block in this markdown file")
    args = parser.parse_args(argv)
    database_url = os.environ.get("DATABASE_URL", "")
    if not is_postgres(database_url):
        parser.error("needs PostgreSQL: run under scripts/pg-cluster (DATABASE_URL=postgres://…)")
    config = RunConfig(
        operations=args.operations,
        concurrency=args.concurrency,
        providers=tuple(args.providers.split(",")),
        label=args.label,
        chaos=not args.no_chaos,
        workdir=ROOT / "var" / f"faults-{args.label}",
        settle_timeout=600.0,
    )
    if args.seed is not None:
        config.seed = args.seed
    with fresh_database(database_url) as url:
        doc = execute(config, url)
    text = json.dumps(doc, ensure_ascii=False, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    if args.markdown:
        write_markdown(args.markdown, doc)
    print(markdown(doc))
    if not doc["passed"]:
        print(json.dumps(doc["reconciliation"], ensure_ascii=False, indent=2))
    return 0 if doc["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
