"""A small closed-loop load generator: asyncio and a minimal HTTP/1.1 client.

Why not httpx: on a 2-core machine the load generator shares the CPU with the hub, PostgreSQL and the
emulator. httpx's async client costs several hundred microseconds of CPU per request; this client writes the
request line and headers itself and parses ``Content-Length`` / chunked / read-to-close answers, which costs a
few tens of microseconds. Its own CPU time is reported with every result.

Keep-alive is used where the server allows it (gunicorn); a ``Connection: close`` answer (the emulators
close after every request) makes the next request open a new connection, as any client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class HttpError(Exception):
    pass


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One HTTP/1.1 connection to ``base_url`` (``http://host:port``), reopened when the server closes it."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.prefix = parts.path.rstrip("/")
        self.headers = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
        self._reader = self._writer = None

    async def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        payload = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        lines = [f"{method} {self.prefix}{path} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in {**self.headers, **(headers or {})}.items()]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(payload)}")
        wire = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        for attempt in (1, 2):
            reused = self._writer is not None
            if self._writer is None:
                self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
            assert self._reader is not None
            assert self._writer is not None
            try:
                self._writer.write(wire)
                answer, keep = await self._read(self._reader)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                await self.close()
                nothing_read = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
                if reused and nothing_read and attempt == 1:
                    # The server closed an idle kept-alive connection (gunicorn's keep-alive timeout) before it read
                    # this request: send it again on a new connection, as HTTP clients do.
                    continue
                raise HttpError(f"{method} {path}: connection closed ({exc})") from exc
            if not keep:
                await self.close()
            return answer
        raise AssertionError("unreachable")

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, status, *_ = status_line.split(" ", 2)
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunks.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(c[:-2] for c in chunks)
        else:
            body = await reader.read()
            return Answer(int(status), headers, body), False
        keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
        return Answer(int(status), headers, body), keep


@dataclass
class Recorder:
    """Latencies (seconds) by request kind, and errors."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    async def timed(
        self,
        kind: str,
        conn: Connection,
        method: str,
        path: str,
        body: Any = None,
        expect: int = 200,
        key: str | None = None,
    ) -> Answer:
        """One request; ``key`` is sent as ``Idempotency-Key``. An unexpected status is recorded and raised."""
        headers = {"Idempotency-Key": key} if key else None
        started = time.perf_counter()
        answer = await conn.request(method, path, body, headers)
        elapsed = time.perf_counter() - started
        if answer.status != expect:
            self.errors.append(f"{kind}: {answer.status} {answer.body[:300]!r}")
            raise HttpError(f"{kind}: HTTP {answer.status}")
        self.latencies.setdefault(kind, []).append(elapsed)
        return answer

    def count(self) -> int:
        return sum(len(v) for v in self.latencies.values())


Iteration = Callable[[int, int], Awaitable[None]]  # (worker number, iteration number)


async def closed_loop(
    concurrency: int, iterations: int, run: Iteration, *, max_seconds: float = 600.0, stop_on_error: bool = True
) -> float:
    """``concurrency`` workers run ``run`` until ``iterations`` are done (or the time is up); returns the
    wall time. An iteration that raises counts as done; with ``stop_on_error`` the first one ends the run."""
    counter = iter(range(iterations))
    deadline = time.monotonic() + max_seconds
    failed: list[BaseException] = []

    async def worker(n: int) -> None:
        for i in counter:
            if time.monotonic() > deadline or (failed and stop_on_error):
                return
            try:
                await run(n, i)
            except (TimeoutError, HttpError, OSError) as exc:
                failed.append(exc)

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    wall = time.perf_counter() - started
    if failed and stop_on_error:
        raise HttpError(f"{len(failed)} iteration(s) failed, first: {failed[0]}")
    return wall
