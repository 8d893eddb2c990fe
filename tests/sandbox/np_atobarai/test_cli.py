"""``kessai sandbox np_atobarai …`` (kessai.sandbox.cli.main)."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from kessai.sandbox.cli import build_parser, main
from tests.sandbox.np_atobarai.helpers import TLS, basic


def test_defaults() -> None:
    args = build_parser().parse_args(["np_atobarai"])
    assert (args.host, args.port, args.merchant_code, args.sp_code, args.terminal_id) == (
        "127.0.0.1",
        8102,
        "akt0000001",
        "kessai-demo-np-sp01",
        "kessai-demo-np-terminal",
    )
    assert (args.credit_limit, args.review_lookups, args.review_seconds, args.hold_expiry_seconds) == (
        55_000,
        2,
        None,
        None,
    )


def test_options_are_parsed() -> None:
    args = build_parser().parse_args(
        [
            "np_atobarai",
            "--port",
            "9102",
            "--credit-limit",
            "30000",
            "--review-lookups",
            "1",
            "--review-seconds",
            "2.5",
            "--hold-expiry-seconds",
            "60",
        ]
    )
    assert (args.port, args.credit_limit, args.review_lookups, args.review_seconds, args.hold_expiry_seconds) == (
        9102,
        30_000,
        1,
        2.5,
        60.0,
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["np_atobarai", "--credit-limit", "0"],
        ["np_atobarai", "--review-lookups", "x"],
        ["np_atobarai", "--review-seconds", "-1"],
    ],
)
def test_usage_errors_return_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: kessai sandbox" in capsys.readouterr().err


def test_runs_and_prints_one_line_then_serves_the_api() -> None:
    command = [sys.executable, "-m", "kessai.sandbox", "np_atobarai", "--port", "0", "--sp-code", "cli-sp"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("np_atobarai sandbox: http://127.0.0.1:")
        assert line.endswith("/ merchant_code=akt0000001 sp_code=cli-sp terminal_id=kessai-demo-np-terminal")
        url = line.split()[2]
        headers = {"Authorization": basic(sp_code="cli-sp"), "X-NP-Terminal-Id": "kessai-demo-np-terminal"}
        response = httpx.post(
            url + "v1/authorizations/find", json={"transactions": []}, headers=headers, verify=TLS, timeout=5
        )
        assert response.json() == {"errors": [{"codes": ["EPRO0101"], "id": ""}]}
    finally:
        process.terminate()
        process.wait(timeout=10)
