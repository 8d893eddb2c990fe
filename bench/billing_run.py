"""継続課金 benchmark: charge N due subscriptions against the atone emulator (50 ms latency per call).

    scripts/pg-cluster .venv/bin/python bench/billing_run.py --subscriptions 100000 --workers 4 --threads 24

What it does:
1. starts the atone emulator as its own process (``kessai sandbox atone --port N``) and sets
   ``latency_ms`` (default 50) through ``/_sandbox/faults``;
2. migrates the database of ``DATABASE_URL`` (PostgreSQL: several workers claim with SKIP LOCKED) and
   seeds one shop with N subscriptions due today (bulk insert, each token sealed for its own row);
3. starts ``--workers`` processes of ``kessai billing run-due --json --no-mail --concurrency T`` at once and
   samples every worker's RSS (``/proc/<pid>/status``) each second;
4. checks the outcome — every cycle charged, once, with a distinct atone transaction — and prints one JSON
   line: wall time, charges per second, peak and sampled RSS of the workers and of the emulator.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
KESSAI = [sys.executable, "-m", "kessai.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (``/proc/<pid>/stat``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def seed(n: int, atone_url: str, tokens: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kessai.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from kessai.billing import services
    from kessai.billing.dates import jst_date
    from kessai.billing.models import Subscription
    from kessai.sandbox.atone import DEFAULT_PUBLIC_KEY, DEFAULT_SECRET_KEY
    from kessai.shops import services as shop_services

    call_command("migrate", interactive=False, verbosity=0)
    shop = shop_services.create_shop(name="継続課金ベンチマーク", admin_email="admin@example.jp")
    account = shop_services.create_provider_account(
        shop,
        provider="atone",
        environment="test",
        credentials={"public_key": DEFAULT_PUBLIC_KEY, "secret_key": DEFAULT_SECRET_KEY},
        options={"recurring_option": True},
        base_url=atone_url + "/v1/",
    )
    shop_services.create_payment_method(shop, provider_account=account, code="atone", name="atone")
    buyer_tokens = [
        httpx.post(f"{atone_url}/_sandbox/authenticate", json={"phone_number": f"090{i:08d}"}, timeout=10).json()[
            "authentication_token"
        ]
        for i in range(tokens)
    ]
    today = jst_date(timezone.now())
    template = services.create_subscription(
        shop,
        payment_method="atone",
        token=buyer_tokens[0],
        customer={
            "name": "継続 太郎",
            "email": "member@example.jp",
            "phone": "090-0000-0000",
            "zip_code": "107-0052",
            "address": "東京都港区赤坂1-2-3",
        },
        items=[{"sku": "SUB-1", "name": "月額プラン", "unit_price": 3240, "quantity": 1}],
        amount=3240,
        first_billing_on=today,
        member_no="1",
    )
    rows: list[Subscription] = []
    for i in range(1, n):
        sub = Subscription(
            shop=shop,
            account=account,
            payment_method=template.payment_method,
            member_no=str(i + 1),
            customer=template.customer,
            customer_name=template.customer_name,
            customer_email=template.customer_email,
            items=template.items,
            amount=template.amount,
            initial_amount=template.amount,
            billing_day=template.billing_day,
            applied_at=template.applied_at,
            first_billing_on=today,
            next_billing_on=today,
        )
        sub.order_no = f"SUB-{sub.key}"
        services.seal_token(sub, buyer_tokens[i % len(buyer_tokens)])
        rows.append(sub)
        if len(rows) == 2000:
            Subscription.objects.bulk_create(rows)
            rows.clear()
    Subscription.objects.bulk_create(rows)


def check() -> dict[str, Any]:
    from django.db.models import Count

    from kessai.billing.models import CycleStatus, Subscription, SubscriptionCycle
    from kessai.payments.models import Payment

    by_status = dict(SubscriptionCycle.objects.values_list("status").annotate(n=Count("id")).order_by("status"))
    refs = Payment.objects.exclude(provider_ref="").values("provider_ref").distinct().count()
    return {
        "subscriptions": Subscription.objects.count(),
        "cycles": by_status,
        "distinct_atone_transactions": refs,
        "all_charged_once": by_status.get(CycleStatus.CHARGED, 0) == Subscription.objects.count() == refs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4, help="worker processes")
    parser.add_argument("--threads", type=int, default=24, help="threads per worker (run-due --concurrency)")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--tokens", type=int, default=50, help="distinct atone buyers")
    args = parser.parse_args()
    if "postgres" not in os.environ.get("DATABASE_URL", ""):
        print("warning: DATABASE_URL is not PostgreSQL; workers will serialise on SQLite", file=sys.stderr)
    env = {**os.environ, "KESSAI_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    env.setdefault("KESSAI_VAR_DIR", f"/tmp/kessai-bench-{secrets.token_hex(4)}")  # noqa: S108
    os.environ.update(env)
    port = free_port()
    atone_url = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen(
        [*KESSAI, "sandbox", "atone", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(atone_url + "/_sandbox")
        started = time.monotonic()
        seed(args.subscriptions, atone_url, args.tokens)
        seeded_in = time.monotonic() - started
        httpx.post(f"{atone_url}/_sandbox/faults", json={"latency_ms": args.latency_ms}, timeout=10)
        command = [
            *KESSAI,
            "billing",
            "run-due",
            "--json",
            "--no-mail",
            "--concurrency",
            str(args.threads),
            "--batch-size",
            str(args.batch_size),
        ]
        started = time.monotonic()
        workers = [
            subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(args.workers)
        ]
        samples: list[list[int]] = []
        peaks = [0] * len(workers)
        cpu = [0.0] * len(workers)
        emulator_cpu_before = cpu_seconds(emulator.pid)
        while any(w.poll() is None for w in workers):
            samples.append([rss_kib(w.pid) for w in workers] + [rss_kib(emulator.pid)])
            peaks = [max(p, rss_kib(w.pid, "VmHWM")) for p, w in zip(peaks, workers, strict=True)]
            cpu = [max(c, cpu_seconds(w.pid)) for c, w in zip(cpu, workers, strict=True)]
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        results = []
        for w in workers:
            out, err = w.communicate()
            if w.returncode != 0:
                print(err[-3000:], file=sys.stderr)
                return 1
            results.append(json.loads(out.strip().splitlines()[-1]))
        charged = sum(r["charged"] for r in results)
        worker_rss = [max(s[i] for s in samples) for i in range(args.workers)] if samples else []
        tenth = max(1, len(samples) // 10)
        report = {
            "subscriptions": args.subscriptions,
            "workers": args.workers,
            "threads_per_worker": args.threads,
            "latency_ms": args.latency_ms,
            "seed_seconds": round(seeded_in, 1),
            "run_seconds": round(elapsed, 1),
            "charges_per_second": round(charged / elapsed, 1),
            "results": results,
            "worker_rss_mib_max": [round(r / 1024, 1) for r in worker_rss],
            "worker_rss_mib_first_10pct": round(max(max(s[:-1]) for s in samples[:tenth]) / 1024, 1) if samples else 0,
            "worker_rss_mib_last_10pct": round(max(max(s[:-1]) for s in samples[-tenth:]) / 1024, 1) if samples else 0,
            "worker_peak_hwm_mib": [round(p / 1024, 1) for p in peaks if p],
            "emulator_rss_mib_end": round(rss_kib(emulator.pid) / 1024, 1),
            "worker_cpu_seconds": round(sum(cpu), 1),
            "worker_cpu_ms_per_charge": round(sum(cpu) * 1000 / max(charged, 1), 1),
            "emulator_cpu_seconds": round(cpu_seconds(emulator.pid) - emulator_cpu_before, 1),
            "check": check(),
        }
        print(json.dumps(report, ensure_ascii=False))
        return 0 if report["check"]["all_charged_once"] else 1
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
