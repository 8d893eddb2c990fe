"""Throughput: payment operations per second through the REST API, gunicorn + PostgreSQL on this machine, with
a zero-latency atone emulator. Zero errors required.

    scripts/pg-cluster .venv/bin/python bench/throughput.py                       # 20 s at concurrency 32

Every client loops over one order's life as an integrator drives it: ``POST /orders``, ``POST
/orders/{id}/payments`` with a stored buyer token (与信, one provider call), ``POST /payments/{id}/capture``
(売上確定, one provider call) — each POST with an ``Idempotency-Key``. Payment operations = authorize +
capture; the order creation is counted in requests/s but not as a payment operation.

The CPU time of every process tree is measured over the timed window (gunicorn master + workers,
PostgreSQL postmaster + backends, the emulator, this load generator) next to the whole machine's, so the
split shows where the two cores went — and how much other sessions took.

Writes ``bench/results/throughput.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from harness import (
    CpuMeter,
    Hub,
    LoadSampler,
    Profiler,
    hub,
    machine,
    order_body,
    summary_ms,
    write_result,
)
from loadgen import Connection, HttpError, Recorder, closed_loop

TARGET_OPS = 500.0
_runs = itertools.count()


async def drive(
    hub_: Hub, concurrency: int, seconds: float, tag: str, keys: bool, profile: bool = False
) -> dict[str, Any]:
    recorder = Recorder()
    conns = [
        Connection(f"{hub_.web_url}/api/v1", {"Authorization": f"Bearer {hub_.api_key}"}) for _ in range(concurrency)
    ]
    done = {"pairs": 0}

    def key(name: str) -> str | None:
        return name if keys else None

    async def iteration(worker: int, i: int) -> None:
        conn, no = conns[worker], f"{tag}-{i}"
        order = await recorder.timed("order", conn, "POST", "/orders", order_body(no), 201, key=key(f"o-{no}"))
        body = {"payment_method": "atone", "authentication_token": hub_.tokens[i % len(hub_.tokens)]}
        pay = await recorder.timed(
            "authorize",
            conn,
            "POST",
            f"/orders/{order.json()['id']}/payments",
            body,
            201,
            key=key(f"p-{no}"),
        )
        payment = pay.json()
        if payment["state"] != "authorized":
            recorder.errors.append(f"authorize: state {payment['state']}")
            raise HttpError("not authorized")
        cap = await recorder.timed(
            "capture", conn, "POST", f"/payments/{payment['id']}/capture", None, 200, key=key(f"c-{no}")
        )
        if cap.json()["state"] != "captured":
            recorder.errors.append("capture: not captured")
            raise HttpError("not captured")
        done["pairs"] += 1

    meter = CpuMeter(hub_.cpu_roots())
    with Profiler(hub_.web.pid if profile else None), LoadSampler() as load:
        meter.start()
        wall = await closed_loop(concurrency, 10**9, iteration, max_seconds=seconds, stop_on_error=False)
        cpu = meter.stop()
    for conn in conns:
        await conn.close()
    ops = len(recorder.latencies.get("authorize", [])) + len(recorder.latencies.get("capture", []))
    requests = recorder.count()
    machine_cpu = load.machine_cpu_seconds
    ours = sum(cpu.values())
    return {
        "concurrency": concurrency,
        "wall_seconds": round(wall, 2),
        "payment_operations": ops,
        "payment_operations_per_second": round(ops / wall, 1),
        "requests_per_second": round(requests / wall, 1),
        "orders_completed": done["pairs"],
        "errors": len(recorder.errors),
        "first_errors": recorder.errors[:5],
        "latency_ms": {kind: summary_ms(v) for kind, v in recorder.latencies.items()},
        "cpu_seconds": cpu,
        "cpu_ms_per_payment_operation": {k: round(v / max(ops, 1) * 1000, 2) for k, v in cpu.items()},
        "cpu_share_of_two_cores": {k: round(v / (wall * 2), 3) for k, v in cpu.items()},
        "machine_cpu_seconds": round(machine_cpu, 2),
        "other_processes_cpu_seconds": round(max(machine_cpu - ours, 0.0), 2),
        **load.as_dict(),
    }


def check_database(database_url: str, tag: str) -> int:
    """Payments captured by this run, counted in PostgreSQL (not trusted from the answers alone)."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM payments_payment p JOIN payments_order o ON o.id = p.order_id "
            "WHERE p.state = 'captured' AND o.shop_order_no LIKE %s",
            (f"{tag}-%",),
        ).fetchone()
    return int(row[0]) if row else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="timed window (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default: %(default)s)")
    parser.add_argument("--no-idempotency-keys", action="store_true")
    parser.add_argument("--output", default="throughput", help="bench/results/<name>.json ('' = none)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def run(hub_: Hub, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then the timed window, on a running hub; the result document."""
    info = machine()
    keys = not args.no_idempotency_keys
    hub_.set_latency(0)
    stamp = f"{int(time.time())}{next(_runs)}"
    asyncio.run(drive(hub_, args.concurrency, args.warmup, f"w{stamp}", keys))
    result = asyncio.run(drive(hub_, args.concurrency, args.seconds, f"t{stamp}", keys, profile=True))
    result["captured_in_database"] = check_database(hub_.stack.database_url, f"t{stamp}")
    ok = result["errors"] == 0 and result["captured_in_database"] == result["orders_completed"]
    print(
        f"{result['payment_operations_per_second']} payment operations/s ({result['requests_per_second']} requests/s), "
        f"errors {result['errors']}, workers {args.workers}x{args.threads}, cpu {result['cpu_seconds']}, "
        f"load {result['load_average_1m']['mean']}",
        flush=True,
    )
    return {
        "scenario": "throughput",
        "command": "scripts/pg-cluster .venv/bin/python bench/throughput.py " + " ".join(args.argv),
        "machine": info,
        "settings": {
            "gunicorn": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread"},
            "emulator_latency_ms": 0,
            "idempotency_keys": keys,
        },
        "result": result,
        "verdict": {
            "target": "≥ 500 payment operations/s, zero errors",
            "met": ok and result["payment_operations_per_second"] >= TARGET_OPS,
            "consistent": ok,
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="kessai-bench-") as tmp,
        hub(Path(tmp), workers=args.workers, threads=args.threads) as hub_,
    ):
        data = run(hub_, args)
    if args.output:
        write_result(args.output, data)
    return 0 if data["verdict"]["consistent"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
