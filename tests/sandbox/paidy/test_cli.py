"""``kessai sandbox paidy …`` (kessai.sandbox.cli.main)."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from kessai.sandbox.cli import build_parser


def test_defaults() -> None:
    args = build_parser().parse_args(["paidy"])
    assert (args.host, args.port, args.public_key, args.secret_key, args.webhook_url, args.authorization_days) == (
        "127.0.0.1",
        8103,
        "pk_test_kessai_demo_paidy01",
        "sk_test_kessai_demo_paidy01",
        None,
        30,
    )
    assert args.webhook_retry_delays == (2.0, 10.0, 30.0)


def test_runs_and_prints_one_line() -> None:
    command = [
        sys.executable,
        "-m",
        "kessai.sandbox",
        "paidy",
        "--port",
        "0",
        "--public-key",
        "pk_test_cli",
        "--secret-key",
        "sk_test_cli",
        "--authorization-days",
        "7",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().rstrip("\n")
        found = re.fullmatch(
            r"paidy sandbox: (http://127\.0\.0\.1:\d+)/ public_key=pk_test_cli secret_key=sk_test_cli", line
        )
        assert found, line
        url = found.group(1)
        merchant = httpx.get(url + "/_sandbox/merchants").json()["merchants"][0]
        assert merchant["authorization_days"] == 7
        response = httpx.get(
            url + "/payments/pay_x", headers={"Authorization": "Bearer sk_test_cli", "Paidy-Version": "2018-04-10"}
        )
        assert response.status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=5)
