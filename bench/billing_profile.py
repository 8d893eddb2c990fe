"""Per-charge cost of the 継続課金 path and of the payment services, in one process (no latency).

    scripts/pg-cluster .venv/bin/python bench/billing_profile.py --subscriptions 600
    scripts/pg-cluster .venv/bin/python bench/billing_profile.py --subscriptions 600 --pyinstrument

What it measures (one worker thread, the atone emulator as its own process with 0 ms latency, so the
figures are the hub's own cost):

- SQL statements per charge, split into claim / charge (``payments.services.charge_with_token``) / settle,
  counted with a database execute wrapper over a whole ``run_due`` pass;
- CPU per charge of this process (``time.process_time``; the emulator's CPU is not included);
- the same statement count and CPU for the API path's operations through the services — a token charge
  (``start_payment`` with ``authentication_token``), ``authorize``, ``capture``, ``cancel`` — against the
  fake in-memory provider of the tests (no HTTP), so only the hub's share is counted;
- optionally a cProfile (``--cprofile N`` lines) or pyinstrument (``--pyinstrument``) report of the run.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.billing_run import KESSAI, free_port, seed, wait_for  # noqa: E402


class StatementCounter:
    """Counts SQL statements by phase (``with counter.phase("claim"):``); thread-local phases are not
    needed: the profile runs one thread."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.current = "other"
        self.kinds: Counter[str] = Counter()
        self.log: list[str] | None = None

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.counts[self.current] += 1
        self.kinds[f"{self.current}:{sql.split(None, 1)[0].upper()}"] += 1
        if self.log is not None:
            self.log.append(f"{self.current}: {sql[:300]}")
        return execute(sql, params, many, context)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        before, self.current = self.current, name
        try:
            yield
        finally:
            self.current = before


def profile_billing(counter: StatementCounter, batch_size: int) -> dict[str, Any]:
    from django.utils import timezone

    from kessai.billing import services

    phases = {
        "_claim_due_batch": "claim",
        "_claim_due": "claim",  # before the set-based claim
        "_charge_payment": "charge",
        "_charge": "charge",  # before the set-based claim
        "_settle_charged": "settle",
        "_settle": "settle",
    }
    originals = {name: getattr(services, name) for name in phases if hasattr(services, name)}

    def counted(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with counter.phase(name):
                return fn(*args, **kwargs)

        return wrapper

    for name, fn in originals.items():
        setattr(services, name, counted(phases[name], fn))
    try:
        with counter.phase("run"):
            cpu, wall = time.process_time(), time.perf_counter()
            result = services.run_due(timezone.now(), batch_size=batch_size, send_mails=False)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        for name, fn in originals.items():
            setattr(services, name, fn)
    charged = max(result.charged, 1)
    per_phase = {k: round(counter.counts[k] / charged, 2) for k in ("claim", "charge", "settle", "run")}
    return {
        "result": result.as_dict(),
        "statements_per_charge": round(sum(counter.counts.values()) / charged, 2),
        "statements_per_charge_by_phase": per_phase,
        "statement_kinds_per_charge": {k: round(v / charged, 2) for k, v in sorted(counter.kinds.items())},
        "cpu_ms_per_charge": round(cpu * 1000 / charged, 2),
        "wall_ms_per_charge": round(wall * 1000 / charged, 2),
    }


def profile_operations(rounds: int) -> dict[str, Any]:
    """Statements and CPU of the API path's operations through the services, on the fake provider."""
    from django.db import connection

    from kessai.payments import services as payments
    from kessai.payments.orders import create_order
    from kessai.shops import services as shop_services
    from tests import factories
    from tests.fakes.provider import install

    install()
    shop = factories.shop(f"APIベンチ {secrets.token_hex(3)}")
    method = factories.fake_method(shop)
    counts: dict[str, list[int]] = {"token_charge": [], "authorize": [], "capture": [], "cancel": []}
    cpu: dict[str, float] = dict.fromkeys(counts, 0.0)
    del shop_services

    def measure(name: str, fn: Callable[[], Any]) -> Any:
        counter = StatementCounter()
        with connection.execute_wrapper(counter):
            started = time.process_time()
            value = fn()
            cpu[name] += time.process_time() - started
        counts[name].append(sum(counter.counts.values()))
        return value

    for _ in range(rounds):
        order = create_order(shop, factories.order_body())
        started = measure(
            "token_charge",
            lambda o=order: payments.start_payment(
                o,
                method_ref=method.id,
                actor="bench",
                authentication_token="tk_bench",  # noqa: S106
            ),
        )
        measure("capture", lambda p=started.payment: payments.capture(p, actor="bench"))
        order = create_order(shop, factories.order_body())
        payment = payments.Payment.objects.create(
            shop=shop,
            order=order,
            payment_method=method,
            account=method.provider_account,
            provider="fake",
            shop_transaction_no=order.shop_order_no,
            amount=order.amount,
        )
        authorized = measure("authorize", lambda p=payment: payments.authorize(p, actor="bench"))
        measure("cancel", lambda p=authorized: payments.cancel(p, actor="bench"))
    return {
        name: {
            "statements": max(values),
            "cpu_ms": round(cpu[name] * 1000 / len(values), 2),
        }
        for name, values in counts.items()
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--subscriptions", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=10, help="subscriptions claimed per transaction")
    parser.add_argument("--api-rounds", type=int, default=100)
    parser.add_argument("--cprofile", type=int, default=0, help="print the top N functions by CPU time")
    parser.add_argument("--pyinstrument", action="store_true", help="print a pyinstrument report of the run")
    args = parser.parse_args()
    env = {"KESSAI_LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"}
    env.setdefault("KESSAI_VAR_DIR", os.environ.get("KESSAI_VAR_DIR") or f"/tmp/kessai-prof-{secrets.token_hex(4)}")  # noqa: S108
    os.environ.update(env)
    port = free_port()
    atone_url = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen(
        [*KESSAI, "sandbox", "atone", "--port", str(port)],
        env=os.environ.copy(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(atone_url + "/_sandbox")
        seed(args.subscriptions, atone_url, tokens=20)
        from django.db import connection

        counter = StatementCounter()
        profiler: Any = None
        if args.pyinstrument:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
        elif args.cprofile:
            profiler = cProfile.Profile(time.process_time)  # CPU time, not waiting on PostgreSQL
            profiler.enable()
        with connection.execute_wrapper(counter):
            billing = profile_billing(counter, args.batch_size)
        if args.pyinstrument:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)
        elif args.cprofile:
            profiler.disable()
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.sort_stats("cumulative").print_stats(args.cprofile)
            stats.sort_stats("tottime").print_stats(args.cprofile)
            print(out.getvalue(), file=sys.stderr)
        report = {
            "database": connection.vendor,
            "subscriptions": args.subscriptions,
            "billing": billing,
            "operations": profile_operations(args.api_rounds),
        }
        print(json.dumps(report, ensure_ascii=False))
        return 0
    finally:
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=10)


if __name__ == "__main__":
    raise SystemExit(main())
