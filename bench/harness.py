"""What every benchmark scenario shares: the machine and load record, CPU accounting per process tree, the
hub set-up (PostgreSQL, atone emulator, gunicorn, a shop with an atone account) and the JSON results.

Run the scenarios from the repository root under ``scripts/pg-cluster`` (it sets ``DATABASE_URL``); the
processes are those of ``tests/processes.py``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import processes  # noqa: E402
from tests.processes import Service, Stack, is_postgres  # noqa: E402

RESULTS = ROOT / "bench" / "results"
JST = ZoneInfo("Asia/Tokyo")
ATONE_PUBLIC_KEY = "kessai-demo-atone-pk01"
ATONE_SECRET_KEY = "kessai-demo-atone-sk01"  # noqa: S105 - the emulator's published demo key
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- numbers


def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..1) of a non-empty sample."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean / max of seconds, in milliseconds."""
    if not samples:
        return {"n": 0}
    return {
        "n": len(samples),
        "p50": round(percentile(samples, 0.50) * 1000, 2),
        "p95": round(percentile(samples, 0.95) * 1000, 2),
        "p99": round(percentile(samples, 0.99) * 1000, 2),
        "mean": round(sum(samples) / len(samples) * 1000, 2),
        "max": round(max(samples) * 1000, 2),
    }


# --------------------------------------------------------------------------- the machine


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def machine() -> dict[str, Any]:
    """Cores, memory, CPU model, Python and PostgreSQL versions, the date in JST and the git commit."""
    model = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    pg_version = ""
    pg_bin = os.environ.get("KESSAI_PG_BIN")
    if pg_bin:
        done = subprocess.run([f"{pg_bin}/postgres", "--version"], capture_output=True, text=True, check=False)
        pg_version = done.stdout.strip()
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(mem_kib / 1024 / 1024, 1),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "postgresql": pg_version,
        "date_jst": datetime.now(JST).strftime("%Y-%m-%d %H:%M %Z"),
        "commit": _git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else ""),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
    }


def _machine_busy_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot (``/proc/stat``)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])
    return total - idle, total


class LoadSampler:
    """Samples the 1-minute load average every second while a measurement runs, and the whole machine's
    CPU use (every process, ours and the other sessions')."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="load-sampler")
        self._busy0, self._total0 = _machine_busy_jiffies()
        self._wall0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self.samples.append(os.getloadavg()[0])
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])
        busy1, _total1 = _machine_busy_jiffies()
        self.machine_cpu_seconds = (busy1 - self._busy0) / CLK_TCK
        self.wall_seconds = time.monotonic() - self._wall0

    def as_dict(self) -> dict[str, Any]:
        return {
            "load_average_1m": {
                "min": round(min(self.samples), 2),
                "mean": round(sum(self.samples) / len(self.samples), 2),
                "max": round(max(self.samples), 2),
            },
            "machine_cpu_seconds": round(self.machine_cpu_seconds, 2),
            "wall_seconds": round(self.wall_seconds, 2),
        }


# --------------------------------------------------------------------------- CPU per process tree


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and of its reaped children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return int(fields[1]), ticks / CLK_TCK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of ``root`` and every live descendant, plus every descendant that has exited (their
    time is in their parent's reaped-children counters). Gunicorn workers, PostgreSQL backends."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                stats[int(entry.name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += stats[pid][1]
            todo.extend(children.get(pid, []))
    return total


def tree_pids(root: int) -> list[int]:
    """``root`` and its live descendants (e.g. a gunicorn master and its workers)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents[int(entry.name)] = stat[0]
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return found


def pids_cpu_seconds(pids: list[int]) -> float:
    """CPU seconds of a fixed set of processes: cheap enough to read around every request."""
    return sum(stat[1] for stat in map(_stat, pids) if stat is not None)


def postgres_pid() -> int | None:
    """The postmaster of the ``scripts/pg-cluster`` cluster (``postmaster.pid``), if this run has one."""
    data = os.environ.get("KESSAI_PG_DATA")
    if not data:
        return None
    try:
        return int(Path(data, "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class Profiler:
    """``KESSAI_BENCH_PYSPY=FILE``: py-spy samples the web processes (gunicorn master and workers) during the
    timed window — only the thread holding the GIL, i.e. where the Python CPU goes, not threads waiting for
    PostgreSQL or for the GIL — and writes FILE: raw collapsed stacks (``frame;frame;… count`` per line), or a
    flame graph when FILE ends in ``.svg``. Off by default: sampling costs CPU that the hub would otherwise get."""

    def __init__(self, pid: int | None) -> None:
        self.output = os.environ.get("KESSAI_BENCH_PYSPY", "")
        self.pid = pid
        self._proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        if self.output and self.pid:
            fmt = "flamegraph" if self.output.endswith(".svg") else "raw"
            py_spy = str(Path(sys.executable).parent / "py-spy")
            argv = [
                py_spy,
                "record",
                "-p",
                str(self.pid),
                "--subprocesses",
                "--gil",
                "-r",
                "200",
                "-f",
                fmt,
                "-o",
                self.output,
            ]
            self._proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)  # attached before the window starts
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.send_signal(2)  # SIGINT: py-spy writes its output and exits
            self._proc.wait(timeout=60)


class CpuMeter:
    """CPU seconds spent by named process trees between ``start()`` and ``stop()``."""

    def __init__(self, roots: dict[str, int | None]) -> None:
        self.roots = {name: pid for name, pid in roots.items() if pid}
        self._before: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        values = {name: tree_cpu_seconds(pid) for name, pid in self.roots.items()}
        values["load generator"] = time.process_time()
        return values

    def start(self) -> None:
        self._before = self._read()

    def stop(self) -> dict[str, float]:
        after = self._read()
        self.spent = {name: round(after[name] - self._before.get(name, 0.0), 2) for name in after}
        return self.spent


# --------------------------------------------------------------------------- results


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    return path


def require_postgres() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not is_postgres(url):
        raise SystemExit("run under scripts/pg-cluster (DATABASE_URL must be PostgreSQL)")
    return url


# --------------------------------------------------------------------------- the hub


@dataclass
class Hub:
    """A running stack: atone emulator, gunicorn, a shop with an atone test account and payment method."""

    stack: Stack
    web: Service
    emulator: Service
    api_key: str
    account_id: str
    webhook_url: str  # the account's inbound payment-webhook URL (with its token)
    tokens: list[str] = field(default_factory=list)

    @property
    def web_url(self) -> str:
        return str(self.web.url)  # type: ignore[attr-defined]

    @property
    def emulator_url(self) -> str:
        return str(self.emulator.url)  # type: ignore[attr-defined]

    def set_latency(self, latency_ms: int) -> None:
        response = httpx.post(f"{self.emulator_url}/_sandbox/faults", json={"latency_ms": latency_ms}, timeout=10)
        response.raise_for_status()

    def reset_emulator(self) -> None:
        """Forget the emulator's transactions and request log (they grow with every call)."""
        httpx.post(f"{self.emulator_url}/_sandbox/reset", timeout=30).raise_for_status()
        self.tokens = [self.buyer_token(i) for i in range(len(self.tokens))]

    def buyer_token(self, n: int) -> str:
        body = {"phone_number": f"090{n:08d}", "public_key": ATONE_PUBLIC_KEY}
        response = httpx.post(f"{self.emulator_url}/_sandbox/authenticate", json=body, timeout=10)
        response.raise_for_status()
        return str(response.json()["authentication_token"])

    def cpu_roots(self) -> dict[str, int | None]:
        return {"hub (gunicorn)": self.web.pid, "PostgreSQL": postgres_pid(), "emulator": self.emulator.pid}


def _api(client: httpx.Client, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = client.request(method, path, json=body)
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text[:500]}")
    result: dict[str, Any] = response.json()
    return result


@contextmanager
def hub(
    directory: Path,
    *,
    workers: int,
    threads: int,
    shop_name: str = "ベンチショップ",
    buyers: int = 16,
    migrate: bool = True,
    web_env: dict[str, str] | None = None,
    database_url: str | None = None,
    source: Path | None = None,
) -> Iterator[Hub]:
    """Start the emulator and gunicorn on ``database_url`` (default ``DATABASE_URL``), set up a shop, and stop
    everything after. ``source``: run the processes from another checkout of the code (``bench/ab.py``)."""
    database_url = database_url or require_postgres()
    with _code_from(source):
        stack = Stack(directory, database_url=database_url)
    try:
        with _code_from(source):
            running = _set_up(
                stack,
                workers=workers,
                threads=threads,
                shop_name=shop_name,
                buyers=buyers,
                migrate=migrate,
                web_env=web_env,
            )
        yield running
    finally:
        stack.stop_all()


@contextmanager
def _code_from(source: Path | None) -> Iterator[None]:
    """The Stack starts every process with the repository root as working directory and ``PYTHONPATH``
    (``tests.processes.ROOT``): pointed at ``source`` meanwhile, they run that checkout's ``kessai``."""
    previous = processes.ROOT
    processes.ROOT = source.resolve() if source else previous
    try:
        yield
    finally:
        processes.ROOT = previous


def _set_up(
    stack: Stack,
    *,
    workers: int,
    threads: int,
    shop_name: str,
    buyers: int,
    migrate: bool,
    web_env: dict[str, str] | None,
) -> Hub:
    if migrate:
        stack.migrate()
    emulator = stack.emulator("atone")
    # Provider calls are logged at INFO by the adapters; WARNING as in the other Stack processes.
    web = stack.web(workers=workers, threads=threads, env=web_env)
    shop = stack.create_shop(shop_name)
    headers = {"Authorization": f"Bearer {shop['api_key']}"}
    with httpx.Client(base_url=f"{web.url}/api/v1", headers=headers, timeout=30) as client:  # type: ignore[attr-defined]
        account = _api(
            client,
            "POST",
            "/provider-accounts",
            {
                "provider": "atone",
                "environment": "test",
                "credentials": {"public_key": ATONE_PUBLIC_KEY, "secret_key": ATONE_SECRET_KEY},
                "base_url": f"{emulator.url}/v1/",  # type: ignore[attr-defined]
            },
        )
        _api(
            client,
            "POST",
            "/payment-methods",
            {"provider_account": account["id"], "code": "atone", "name": "atone 翌月払い", "active": True},
        )
    result = Hub(
        stack=stack,
        web=web,
        emulator=emulator,
        api_key=str(shop["api_key"]),
        account_id=str(account["id"]),
        webhook_url=str(account["webhook_urls"]["payment"]),
    )
    result.tokens = [result.buyer_token(i) for i in range(buyers)]
    return result


# --------------------------------------------------------------------------- request bodies


def order_body(order_no: str, amount: int = 3240) -> dict[str, Any]:
    return {
        "shop_order_no": order_no,
        "amount": amount,
        "items": [{"sku": "P-1", "name": "コーヒー豆 200g", "unit_price": amount, "quantity": 1}],
        "customer": {
            "name": "山田 太郎",
            "name_kana": "ヤマダ タロウ",
            "email": "taro@example.jp",
            "phone": "090-1234-5678",
            "zip_code": "107-0052",
            "address": "東京都港区赤坂1-2-3",
        },
        "destinations": [
            {"name": "山田 太郎", "zip_code": "107-0052", "address": "東京都港区赤坂1-2-3", "phone": "090-1234-5678"}
        ],
    }


def atone_create_body(order_no: str, token: str, amount: int = 3240) -> dict[str, Any]:
    """The body the hub's atone adapter POSTs to ``/v1/transactions`` for ``order_body(order_no)`` paid with a
    stored buyer token: built by the adapter's own function, so the direct path sends the same request."""
    from kessai.providers.atone.adapter import payment_from_order
    from kessai.providers.base import Customer, Destination, LineItem, OrderData

    order = order_body(order_no, amount)
    data = OrderData(
        shop_transaction_no=order_no,
        amount=amount,
        items=tuple(LineItem(**item) for item in order["items"]),
        customer=Customer(**order["customer"]),
        destinations=tuple(Destination(**d) for d in order["destinations"]),
        ordered_at=datetime.now(JST).date().isoformat(),
    )
    body = payment_from_order(data, capture=False)
    body["authentication_token"] = token
    return body
