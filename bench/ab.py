"""Before/after on a shared machine: two checkouts of the code served side by side, measured interleaved.

    scripts/pg-cluster .venv/bin/python bench/ab.py --a /path/to/before --b . --output ab

On a machine whose speed changes from one minute to the next (other sessions' test runs), two benchmark runs one
after the other compare the machine as much as the code. Here both versions run at the same time — each its own
atone emulator, gunicorn and database on the one PostgreSQL server, started from its own checkout (``--a``,
``--b``: the processes run that directory's ``kessai``) — and the load alternates between them request by
request, so that whatever the machine does hits both alike:

1. hub path, concurrency 1, zero emulator latency: an order is created (untimed), then 与信 (authorize with a
   stored buyer token) and 売上確定 (capture) with ``Idempotency-Key`` — A, B, A, B, … with the side that goes
   first swapped every pair. With no provider latency the answer time is the hub's own time plus one emulator
   call. The CPU of each side's gunicorn over the whole sequence gives its CPU per operation;
2. webhook ingestion: atone 決済Webhook deliveries, one at a time, alternating; CPU per delivery of each side;
3. throughput: closed-loop blocks of ``--block-seconds`` at concurrency 16, A B B A A B B A (order + 与信 + 売上確定
   per iteration, as ``bench/throughput.py``).

PostgreSQL's CPU cannot be split between the two databases of one server and is not reported here.
Writes ``bench/results/<output>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import throughput
import webhook_ingest
from harness import (
    Hub,
    LoadSampler,
    hub,
    machine,
    order_body,
    pids_cpu_seconds,
    processes,
    require_postgres,
    summary_ms,
    tree_pids,
    write_result,
)
from loadgen import Connection, Recorder


class Side:
    def __init__(self, name: str, source: Path, hub_: Hub) -> None:
        self.name = name
        self.source = source
        self.hub = hub_
        self.api = Connection(f"{hub_.web_url}/api/v1", {"Authorization": f"Bearer {hub_.api_key}"})
        self.hooks = Connection(hub_.web_url, {"User-Agent": "atone-webhook"})
        self.recorder = Recorder()
        self.cpu = 0.0
        self.operations = 0
        self.webhooks = 0
        self.webhook_cpu = 0.0
        self.pids = tree_pids(hub_.web.pid)  # gunicorn master + workers (they are not restarted meanwhile)

    async def pair(self, n: int) -> None:
        answer = await self.api.request("POST", "/orders", order_body(f"ab-{self.name}-{n}"))
        order = answer.json()["id"]
        body = {"payment_method": "atone", "authentication_token": self.hub.tokens[n % len(self.hub.tokens)]}
        cpu0 = pids_cpu_seconds(self.pids)
        paid = await self.recorder.timed(
            "authorize", self.api, "POST", f"/orders/{order}/payments", body, 201, key=f"p-{order}"
        )
        await self.recorder.timed(
            "capture", self.api, "POST", f"/payments/{paid.json()['id']}/capture", None, 200, key=f"c-{order}"
        )
        self.cpu += pids_cpu_seconds(self.pids) - cpu0
        self.operations += 2

    async def webhook(self, path: str, body: bytes, template_id: str, n: int) -> None:
        cpu0 = pids_cpu_seconds(self.pids)
        unique = body.replace(template_id.encode(), f"tr_ab{n:014d}".encode())
        await self.recorder.timed("webhook", self.hooks, "POST", path, unique)
        self.webhook_cpu += pids_cpu_seconds(self.pids) - cpu0
        self.webhooks += 1


async def interleave(sides: list[Side], pairs: int, webhooks: int) -> None:
    for n in range(pairs):
        for side in sides if n % 2 == 0 else sides[::-1]:
            await side.pair(n)
    notices = []
    for side in sides:
        template = webhook_ingest.sample_notice(side.hub)
        url = urlsplit(side.hub.webhook_url)
        notices.append((f"{url.path}?{url.query}", json.dumps(template, ensure_ascii=False).encode(), template["id"]))
    for n in range(webhooks):
        for i in (0, 1) if n % 2 == 0 else (1, 0):
            await sides[i].webhook(*notices[i], n)


async def blocks(sides: list[Side], seconds: float) -> dict[str, dict[str, Any]]:
    totals: dict[str, dict[str, float]] = {s.name: {"operations": 0, "wall": 0.0, "errors": 0} for s in sides}
    for k, i in enumerate((0, 1, 1, 0, 0, 1, 1, 0)):
        side = sides[i]
        result = await throughput.drive(side.hub, 16, seconds, f"abt{k}", True)
        totals[side.name]["operations"] += result["payment_operations"]
        totals[side.name]["wall"] += result["wall_seconds"]
        totals[side.name]["errors"] += result["errors"]
    return {
        name: {
            "payment_operations_per_second": round(t["operations"] / t["wall"], 1),
            "errors": int(t["errors"]),
            "seconds": round(t["wall"], 1),
        }
        for name, t in totals.items()
    }


async def measure(sides: list[Side], args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """Warm-up (every thread's connection, the adapters' caches), then the interleaved sequence and the blocks."""
    for side in sides:
        for n in range(20):
            await side.pair(10_000 + n)
        side.recorder, side.cpu, side.operations = Recorder(), 0.0, 0
    await interleave(sides, args.pairs, args.webhooks)
    return await blocks(sides, args.block_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--a", type=Path, required=True, help="checkout A (e.g. before)")
    parser.add_argument("--b", type=Path, required=True, help="checkout B (e.g. after)")
    parser.add_argument("--label-a", default="before")
    parser.add_argument("--label-b", default="after")
    parser.add_argument("--pairs", type=int, default=150, help="authorize+capture pairs per side")
    parser.add_argument("--webhooks", type=int, default=1000, help="webhook deliveries per side")
    parser.add_argument("--block-seconds", type=float, default=8.0, help="throughput block length (8 blocks)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--output", default="ab", help="bench/results/<name>.json ('' = none)")
    args = parser.parse_args(argv)
    server = require_postgres()
    info = machine()
    urls = [processes.create_database(server, f"kessai_ab_{secrets.token_hex(4)}") for _ in range(2)]
    try:
        with tempfile.TemporaryDirectory(prefix="kessai-ab-") as tmp, ExitStack() as stack:
            sides = []
            for name, source, url in ((args.label_a, args.a, urls[0]), (args.label_b, args.b, urls[1])):
                running = stack.enter_context(
                    hub(Path(tmp) / name, workers=args.workers, threads=args.threads, database_url=url, source=source)
                )
                running.set_latency(0)
                sides.append(Side(name, source, running))
            with LoadSampler() as load:
                closed_loop = asyncio.run(measure(sides, args))
    finally:
        for url in urls:
            processes.drop_database(url)
    report: dict[str, Any] = {
        "scenario": "ab",
        "command": "scripts/pg-cluster .venv/bin/python bench/ab.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
        "machine": info,
        **load.as_dict(),
        "sides": {},
    }
    for side in sides:
        report["sides"][side.name] = {
            "source": str(side.source),
            "latency_ms": {kind: summary_ms(v) for kind, v in side.recorder.latencies.items()},
            "hub_cpu_ms_per_payment_operation": round(side.cpu / max(side.operations, 1) * 1000, 2),
            "hub_cpu_ms_per_webhook": round(side.webhook_cpu / max(side.webhooks, 1) * 1000, 3),
            "throughput": closed_loop[side.name],
            "errors": len(side.recorder.errors),
        }
        s = report["sides"][side.name]
        print(
            f"{side.name:>8}: 与信 p50 {s['latency_ms']['authorize']['p50']} ms, 売上確定 p50 "
            f"{s['latency_ms']['capture']['p50']} ms, hub CPU {s['hub_cpu_ms_per_payment_operation']} ms/op; webhook "
            f"p50 {s['latency_ms']['webhook']['p50']} ms, {s['hub_cpu_ms_per_webhook']} ms CPU; "
            f"{s['throughput']['payment_operations_per_second']} ops/s",
            flush=True,
        )
    if args.output:
        write_result(args.output, report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
