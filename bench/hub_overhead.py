"""Hub overhead: the same atone 与信 (authorize with a stored buyer token) and 売上確定 (capture) through
Kessai's REST API and straight to the atone emulator's REST API, with emulated provider latency.

    scripts/pg-cluster .venv/bin/python bench/hub_overhead.py                 # 100 ms, concurrency 1, 16, 64

How "added" is measured. The emulator sleeps ``--latency-ms`` in every REST call (``/_sandbox/faults``).
At each concurrency C the load generator (this process: asyncio + a minimal HTTP client, its CPU reported)
runs C clients in a closed loop, in blocks that alternate between the two paths — direct, hub, hub, direct —
so that a change in the machine's background load hits both alike:

- direct: ``POST /v1/transactions`` (the body the hub's adapter sends, built by the adapter's own function,
  with the buyer token) then ``PATCH /v1/transactions/{id}/settle``, as an integrator calling atone would;
- hub: ``POST /api/v1/orders/{id}/payments`` ``{"payment_method": "atone", "authentication_token": …}`` then
  ``POST /api/v1/payments/{id}/capture``, each with an ``Idempotency-Key`` as docs/api.md recommends. The
  orders are created before the timed blocks (an order has no provider-side equivalent).

For each operation the p50 / p95 / p99 of the hub and of the direct latencies are compared: added =
hub pX − direct pX, ratio = hub pX / direct pX. Each path makes exactly one provider call per operation.
The hub's own share is also shown from the inside: its mean answer time minus the mean duration of its provider
calls (its ``kessai_provider_latency_seconds`` histogram on ``/metrics``), which leaves out the emulator's
connection handling and queueing that both paths share.

Writes ``bench/results/hub_overhead.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx
from harness import (
    ATONE_SECRET_KEY,
    CpuMeter,
    Hub,
    LoadSampler,
    atone_create_body,
    hub,
    machine,
    order_body,
    summary_ms,
    write_result,
)
from loadgen import Connection, Recorder, closed_loop

TARGET_P50_MS = 3.0
TARGET_P99_MS = 10.0
OPS = ("authorize", "capture")


class Paths:
    """The two ways to run one authorize + capture, sharing buyer tokens."""

    def __init__(self, hub: Hub, run_id: str) -> None:
        self.hub = hub
        self.run_id = run_id
        self.sequence = itertools.count()
        basic = "Basic " + base64.b64encode(ATONE_SECRET_KEY.encode()).decode()
        self.atone_headers = {"Authorization": basic, "Accept": "application/json"}
        self.api_headers = {"Authorization": f"Bearer {hub.api_key}"}

    def api(self) -> Connection:
        return Connection(f"{self.hub.web_url}/api/v1", self.api_headers)

    async def create_orders(self, n: int, concurrency: int = 16) -> list[str]:
        conns = [self.api() for _ in range(concurrency)]
        created: list[str] = []
        recorder = Recorder()

        async def one(worker: int, i: int) -> None:
            answer = await recorder.timed(
                "order", conns[worker], "POST", "/orders", order_body(f"{self.run_id}-{len(created)}-{i}"), 201
            )
            created.append(str(answer.json()["id"]))

        await closed_loop(concurrency, n, one)
        for conn in conns:
            await conn.close()
        return created

    async def direct(self, recorder: Recorder, conn: Connection) -> None:
        n = next(self.sequence)
        token = self.hub.tokens[n % len(self.hub.tokens)]
        body = atone_create_body(f"{self.run_id}-d{n}", token)
        created = await recorder.timed("authorize", conn, "POST", "/v1/transactions", body)
        tx = created.json()
        if tx.get("authorization_result") != 1:
            raise RuntimeError(f"direct authorize not OK: {tx}")
        await recorder.timed("capture", conn, "PATCH", f"/v1/transactions/{tx['id']}/settle", {})

    async def via_hub(self, recorder: Recorder, conn: Connection, order_id: str, n: int) -> None:
        token = self.hub.tokens[n % len(self.hub.tokens)]
        body = {"payment_method": "atone", "authentication_token": token}
        started = await recorder.timed(
            "authorize", conn, "POST", f"/orders/{order_id}/payments", body, 201, key=f"pay-{order_id}"
        )
        payment = started.json()
        if payment["state"] != "authorized":
            raise RuntimeError(f"hub authorize not OK: {payment['state']}")
        captured = await recorder.timed(
            "capture", conn, "POST", f"/payments/{payment['id']}/capture", None, 200, key=f"cap-{order_id}"
        )
        if captured.json()["state"] != "captured":
            raise RuntimeError("hub capture not OK")


async def run_block(paths: Paths, path: str, concurrency: int, pairs: int, orders: list[str]) -> dict[str, Any]:
    recorder = Recorder()
    if path == "direct":
        conns = [Connection(f"{paths.hub.emulator_url}", paths.atone_headers) for _ in range(concurrency)]

        async def iteration(worker: int, i: int) -> None:
            await paths.direct(recorder, conns[worker])

    else:
        conns = [paths.api() for _ in range(concurrency)]

        async def iteration(worker: int, i: int) -> None:
            await paths.via_hub(recorder, conns[worker], orders[i], i)

    meter = CpuMeter(paths.hub.cpu_roots())
    before = provider_seconds(paths.hub) if path == "hub" else {}
    meter.start()
    wall = await closed_loop(concurrency, pairs, iteration)
    cpu = meter.stop()
    after = provider_seconds(paths.hub) if path == "hub" else {}
    for conn in conns:
        await conn.close()
    provider = {
        op: (after[op][0] - before.get(op, (0.0, 0.0))[0], after[op][1] - before.get(op, (0.0, 0.0))[1]) for op in after
    }
    return {"latencies": recorder.latencies, "wall": wall, "cpu": cpu, "errors": recorder.errors, "provider": provider}


HUB_PROVIDER_OPS = {"authorize": "charge_token", "capture": "capture"}


def provider_seconds(hub_: Hub) -> dict[str, tuple[float, float]]:
    """(sum of seconds, count) of the hub's own provider calls by operation, from its Prometheus histogram
    ``kessai_provider_latency_seconds`` (``/metrics``, served to loopback callers)."""
    text = httpx.get(f"{hub_.web_url}/metrics", timeout=30).text
    found: dict[str, list[float]] = {}
    for line in text.splitlines():
        for op, name in HUB_PROVIDER_OPS.items():
            if f'operation="{name}"' in line and 'provider="atone"' in line:
                if line.startswith("kessai_provider_latency_seconds_sum"):
                    found.setdefault(op, [0.0, 0.0])[0] += float(line.rsplit(" ", 1)[1])
                elif line.startswith("kessai_provider_latency_seconds_count"):
                    found.setdefault(op, [0.0, 0.0])[1] += float(line.rsplit(" ", 1)[1])
    return {op: (v[0], v[1]) for op, v in found.items()}


def _compare(direct: list[float], via_hub: list[float]) -> dict[str, Any]:
    d, h = summary_ms(direct), summary_ms(via_hub)
    added = {q: round(h[q] - d[q], 2) for q in ("p50", "p95", "p99", "mean")}
    ratio = {q: round(h[q] / d[q], 3) for q in ("p50", "p95", "p99")}
    return {"direct_ms": d, "hub_ms": h, "added_ms": added, "ratio": ratio}


async def measure(hub_: Hub, concurrency: int, pairs: int, latency_ms: int, warmup: int) -> dict[str, Any]:
    hub_.reset_emulator()  # keeps the emulator's store small between levels
    hub_.set_latency(latency_ms)
    paths = Paths(hub_, f"c{concurrency}")
    half = max(1, pairs // 2)
    warm = max(warmup, concurrency * 2)
    orders = await paths.create_orders(warm + 2 * half)
    await run_block(paths, "hub", concurrency, warm, orders[:warm])
    await run_block(paths, "direct", concurrency, warm, [])
    blocks: dict[str, list[dict[str, Any]]] = {"direct": [], "hub": []}
    sequence = [("direct", None), ("hub", orders[warm : warm + half]), ("hub", orders[warm + half :]), ("direct", None)]
    with LoadSampler() as load:
        for path, block_orders in sequence:
            blocks[path].append(await run_block(paths, path, concurrency, half, block_orders or []))
    result: dict[str, Any] = {"concurrency": concurrency, "pairs_per_path": 2 * half, **load.as_dict()}
    for op in OPS:
        direct = [x for b in blocks["direct"] for x in b["latencies"][op]]
        via_hub = [x for b in blocks["hub"] for x in b["latencies"][op]]
        result[op] = _compare(direct, via_hub)
        # Inside the hub: the mean time of its provider calls (its own histogram) against the mean answer time.
        spent = sum(b["provider"].get(op, (0.0, 0.0))[0] for b in blocks["hub"])
        calls = sum(b["provider"].get(op, (0.0, 0.0))[1] for b in blocks["hub"])
        if calls:
            mean_call = spent / calls * 1000
            result[op]["hub_provider_call_mean_ms"] = round(mean_call, 2)
            result[op]["hub_own_mean_ms"] = round(result[op]["hub_ms"]["mean"] - mean_call, 2)
    for path in ("direct", "hub"):
        wall = sum(b["wall"] for b in blocks[path])
        ops = sum(len(b["latencies"][op]) for b in blocks[path] for op in OPS)
        cpu: dict[str, float] = {}
        for b in blocks[path]:
            for name, seconds in b["cpu"].items():
                cpu[name] = round(cpu.get(name, 0.0) + seconds, 2)
        result[f"{path}_run"] = {
            "wall_seconds": round(wall, 2),
            "operations_per_second": round(ops / wall, 1),
            "cpu_seconds": cpu,
            "cpu_ms_per_operation": {name: round(s / ops * 1000, 2) for name, s in cpu.items()},
            "errors": sum(len(b["errors"]) for b in blocks[path]),
        }
    return result


def verdict(levels: list[dict[str, Any]]) -> dict[str, Any]:
    worst = {
        op: {
            "p50": max(level[op]["added_ms"]["p50"] for level in levels),
            "p99": max(level[op]["added_ms"]["p99"] for level in levels),
        }
        for op in OPS
    }
    by_level = {
        str(level["concurrency"]): all(
            level[op]["added_ms"]["p50"] <= TARGET_P50_MS and level[op]["added_ms"]["p99"] <= TARGET_P99_MS
            for op in OPS
        )
        for level in levels
    }
    return {"target": "added ≤ 3 ms p50 and ≤ 10 ms p99", "worst_added_ms": worst, "met_at_concurrency": by_level}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", default="1,16,64", help="comma-separated levels (default: %(default)s)")
    parser.add_argument("--pairs", default="200,800,2000", help="authorize+capture pairs per path, per level")
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=32, help="threads per worker (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--output", default="hub_overhead", help="bench/results/<name>.json ('' = none)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def run(hub_: Hub, args: argparse.Namespace) -> dict[str, Any]:
    """Every level on a running hub; the result document."""
    levels = [int(c) for c in args.concurrency.split(",")]
    pairs = [int(p) for p in args.pairs.split(",")]
    pairs += [pairs[-1]] * (len(levels) - len(pairs))
    info = machine()
    results = []
    for concurrency, n in zip(levels, pairs, strict=False):
        level = asyncio.run(measure(hub_, concurrency, n, args.latency_ms, args.warmup))
        results.append(level)
        a, c = level["authorize"], level["capture"]
        print(
            f"c={concurrency:>3}  authorize added p50/p95/p99 {a['added_ms']['p50']}/{a['added_ms']['p95']}/"
            f"{a['added_ms']['p99']} ms (x{a['ratio']['p50']})  capture added {c['added_ms']['p50']}/"
            f"{c['added_ms']['p95']}/{c['added_ms']['p99']} ms (x{c['ratio']['p50']})  "
            f"load {level['load_average_1m']['mean']}",
            flush=True,
        )
    return {
        "scenario": "hub_overhead",
        "command": "scripts/pg-cluster .venv/bin/python bench/hub_overhead.py " + " ".join(args.argv),
        "machine": info,
        "settings": {
            "latency_ms": args.latency_ms,
            "gunicorn": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread"},
            "idempotency_keys": True,
        },
        "levels": results,
        "verdict": verdict(results),
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
