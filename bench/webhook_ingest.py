"""Inbound provider-webhook ingestion: atone 決済Webhook deliveries stored and acknowledged per second.

    scripts/pg-cluster .venv/bin/python bench/webhook_ingest.py                   # 15 s at concurrency 32

Each request is what the atone emulator (and atone) posts to the account's payment-webhook URL
(``POST /hooks/atone/<account>/payment?token=…``): a transaction object, taken from a real create on the
emulator, with a distinct ``id`` per delivery so that none is a duplicate. The hub authorises the URL
token, parses the notice (dedup key), stores it in ``InboundWebhook`` and enqueues its processing, all
before the 200 (invariant 4). Applying the notices (the worker's job: a provider lookup per notice) is not
part of this figure; no worker runs. Afterwards the stored rows are counted in PostgreSQL and must equal the
acknowledged deliveries.

Writes ``bench/results/webhook_ingest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from harness import (
    ATONE_SECRET_KEY,
    CpuMeter,
    Hub,
    LoadSampler,
    Profiler,
    atone_create_body,
    hub,
    machine,
    summary_ms,
    write_result,
)
from loadgen import Connection, HttpError, Recorder, closed_loop

from kessai.shops.keyring import KeyRing
from kessai.webhooks import sealing

TARGET_PER_SECOND = 2000.0
_runs = itertools.count()


def sample_notice(hub_: Hub) -> dict[str, Any]:
    """A transaction object as atone sends it in a 決済Webhook (from a real create on the emulator)."""
    basic = "Basic " + base64.b64encode(ATONE_SECRET_KEY.encode()).decode()
    response = httpx.post(
        f"{hub_.emulator_url}/v1/transactions",
        json=atone_create_body(f"wh-sample-{int(time.time())}", hub_.tokens[0]),
        headers={"Authorization": basic},
        timeout=10,
    )
    response.raise_for_status()
    notice: dict[str, Any] = response.json()
    return notice


async def drive(
    hub_: Hub, template: dict[str, Any], concurrency: int, seconds: float, tag: str, profile: bool = False
) -> dict[str, Any]:
    url = urlsplit(hub_.webhook_url)
    path = f"{url.path}?{url.query}"
    recorder = Recorder()
    conns = [Connection(hub_.web_url, {"User-Agent": "atone-webhook"}) for _ in range(concurrency)]
    prefix = json.dumps(template, ensure_ascii=False).encode()

    async def iteration(worker: int, i: int) -> None:
        body = prefix.replace(template["id"].encode(), f"tr_{tag}{i:010d}".encode())
        answer = await recorder.timed("webhook", conns[worker], "POST", path, body)
        if not answer.json().get("received"):
            recorder.errors.append(f"not received: {answer.body[:200]!r}")
            raise HttpError("not received")

    meter = CpuMeter(hub_.cpu_roots())
    with Profiler(hub_.web.pid if profile else None), LoadSampler() as load:
        meter.start()
        wall = await closed_loop(concurrency, 10**9, iteration, max_seconds=seconds, stop_on_error=False)
        cpu = meter.stop()
    for conn in conns:
        await conn.close()
    acknowledged = len(recorder.latencies.get("webhook", []))
    machine_cpu = load.machine_cpu_seconds
    return {
        "concurrency": concurrency,
        "wall_seconds": round(wall, 2),
        "acknowledged": acknowledged,
        "per_second": round(acknowledged / wall, 1),
        "errors": len(recorder.errors),
        "first_errors": recorder.errors[:5],
        "latency_ms": summary_ms(recorder.latencies.get("webhook", [])),
        "body_bytes": len(prefix),
        "cpu_seconds": cpu,
        "cpu_ms_per_webhook": {k: round(v / max(acknowledged, 1) * 1000, 3) for k, v in cpu.items()},
        "cpu_share_of_two_cores": {k: round(v / (wall * 2), 3) for k, v in cpu.items()},
        "machine_cpu_seconds": round(machine_cpu, 2),
        "other_processes_cpu_seconds": round(max(machine_cpu - sum(cpu.values()), 0.0), 2),
        **load.as_dict(),
    }


def stored(database_url: str, key_ring: str, tag: str) -> dict[str, int]:
    """The rows this run stored, by status, read from PostgreSQL (the bodies are sealed: opened with the stack's
    key ring to find this run's ids)."""
    ring = KeyRing.parse(key_ring)
    counts: dict[str, int] = {}
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT status, account_id, dedup_key, body_sealed FROM webhooks_inboundwebhook")
        for status, account_id, dedup_key, body_sealed in rows:
            body = sealing.unseal(body_sealed, account_id=account_id, dedup_key=dedup_key, ring=ring)
            if f'"tr_{tag}' in body:
                counts[str(status)] = counts.get(str(status), 0) + 1
    return counts


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="timed window (default: %(default)s)")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default: %(default)s)")
    parser.add_argument("--output", default="webhook_ingest", help="bench/results/<name>.json ('' = none)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    return args


def run(hub_: Hub, args: argparse.Namespace) -> dict[str, Any]:
    """Warm up, then the timed window, on a running hub; the result document."""
    info = machine()
    template = sample_notice(hub_)
    stamp = f"{int(time.time())}{next(_runs)}"
    asyncio.run(drive(hub_, template, args.concurrency, args.warmup, f"W{stamp}"))
    result = asyncio.run(drive(hub_, template, args.concurrency, args.seconds, f"T{stamp}", profile=True))
    result["stored_in_database"] = stored(hub_.stack.database_url, hub_.stack.env["KESSAI_SECRET_KEYS"], f"T{stamp}")
    in_db = sum(result["stored_in_database"].values())
    ok = result["errors"] == 0 and in_db == result["acknowledged"]
    print(
        f"{result['per_second']} webhooks/s stored and acknowledged, errors {result['errors']}, "
        f"stored {result['stored_in_database']}, workers {args.workers}x{args.threads}, cpu {result['cpu_seconds']}, "
        f"load {result['load_average_1m']['mean']}",
        flush=True,
    )
    return {
        "scenario": "webhook_ingest",
        "command": "scripts/pg-cluster .venv/bin/python bench/webhook_ingest.py " + " ".join(args.argv),
        "machine": info,
        "settings": {"gunicorn": {"workers": args.workers, "threads": args.threads, "worker_class": "gthread"}},
        "result": result,
        "verdict": {
            "target": "≥ 2,000 webhooks/s stored and acknowledged",
            "met": ok and result["per_second"] >= TARGET_PER_SECOND,
            "consistent": ok,
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with (
        tempfile.TemporaryDirectory(prefix="kessai-bench-") as tmp,
        hub(Path(tmp), workers=args.workers, threads=args.threads, buyers=1) as hub_,
    ):
        data = run(hub_, args)
    if args.output:
        write_result(args.output, data)
    return 0 if data["verdict"]["consistent"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
