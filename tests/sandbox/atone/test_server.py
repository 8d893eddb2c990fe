"""The shared threaded WSGI server helper."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from wsgiref.types import StartResponse, WSGIEnvironment

import httpx
import pytest

from kessai.sandbox.server import DropConnection, start_in_thread


def hello(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body) + 3))])
    return [b"ok:" + body]


def test_serves_on_a_free_port_and_closes_every_connection() -> None:
    with start_in_thread(hello) as server, httpx.Client(base_url=server.url, timeout=5) as client:
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        responses = [client.post("/", content=f"n{i}".encode()) for i in range(30)]
    assert [r.text for r in responses] == [f"ok:n{i}" for i in range(30)]
    assert {r.headers["connection"] for r in responses} == {"close"}
    assert {r.http_version for r in responses} == {"HTTP/1.1"}


def test_requests_run_in_parallel_threads() -> None:
    barrier = threading.Barrier(5, timeout=5)

    def waits_for_four_others(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        barrier.wait()
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    with start_in_thread(waits_for_four_others) as server:
        results: list[int] = []

        def call() -> None:
            results.append(httpx.get(server.url, timeout=5).status_code)

        threads = [threading.Thread(target=call) for _ in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert results == [200] * 5


def test_drop_connection_closes_without_a_response() -> None:
    def drops(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        raise DropConnection

    with start_in_thread(drops) as server, pytest.raises(httpx.RemoteProtocolError):
        httpx.post(server.url, json={"x": 1}, timeout=5)


def test_an_application_error_is_a_500_and_the_server_keeps_serving() -> None:
    calls: list[int] = []

    def fails_once(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return hello(environ, start_response)

    with start_in_thread(fails_once) as server:
        assert httpx.get(server.url, timeout=5).status_code == 500
        assert httpx.get(server.url, timeout=5).text == "ok:"


def test_stop_releases_the_port() -> None:
    server = start_in_thread(hello)
    assert httpx.get(server.url, timeout=5).status_code == 200
    started = time.monotonic()
    server.stop()
    server.stop()
    assert time.monotonic() - started < 2
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url, timeout=2)
