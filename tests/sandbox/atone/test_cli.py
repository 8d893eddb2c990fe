"""``kessai sandbox atone …`` (kessai.sandbox.cli.main)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import httpx
import pytest

from kessai.sandbox.cli import build_parser, main, start_line

from .helpers import basic


def test_start_line_format() -> None:
    line = start_line("atone", "http://127.0.0.1:8101", {"public_key": "pk", "secret_key": "sk"})
    assert line == "atone sandbox: http://127.0.0.1:8101/ public_key=pk secret_key=sk"


def test_defaults() -> None:
    args = build_parser().parse_args(["atone"])
    assert (args.host, args.port, args.public_key, args.secret_key, args.buyer_limit, args.smtp) == (
        "127.0.0.1",
        8101,
        "kessai-demo-atone-pk01",
        "kessai-demo-atone-sk01",
        50_000,
        None,
    )
    assert args.webhook_retry_delays == (2.0, 10.0, 30.0)


def test_options_are_parsed() -> None:
    args = build_parser().parse_args(
        [
            "atone",
            "--port",
            "9000",
            "--smtp",
            "127.0.0.1:1025",
            "--buyer-limit",
            "30000",
            "--webhook-retry-delays",
            "1,2",
        ]
    )
    assert (args.port, args.smtp, args.buyer_limit, args.webhook_retry_delays) == (
        9000,
        ("127.0.0.1", 1025),
        30_000,
        (1.0, 2.0),
    )


@pytest.mark.parametrize(
    "argv",
    [[], ["nosuch"], ["atone", "--smtp", "nohost"], ["atone", "--buyer-limit", "0"], ["atone", "--port", "x"]],
)
def test_usage_errors_return_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: kessai sandbox" in capsys.readouterr().err


def test_port_in_use_returns_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["atone", "--port", str(port)]) == 1
    assert f"atone sandbox: cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_runs_and_prints_one_line() -> None:
    command = [
        sys.executable,
        "-m",
        "kessai.sandbox",
        "atone",
        "--port",
        "0",
        "--public-key",
        "cli-test-public-key-01",
        "--secret-key",
        "cli-test-secret-key-01",
        "--buyer-limit",
        "1234",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().rstrip("\n")
        keys = "public_key=cli-test-public-key-01 secret_key=cli-test-secret-key-01"
        found = re.fullmatch(r"atone sandbox: (http://127\.0\.0\.1:\d+)/ " + keys, line)
        assert found, line
        url = found.group(1)
        assert httpx.get(url + "/_sandbox/settings").json()["buyer_limit"] == 1234
        response = httpx.get(
            url + "/v1/transactions/tr_0000000000000000", headers={"Authorization": basic("cli-test-secret-key-01")}
        )
        assert response.status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=5)
