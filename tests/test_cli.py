"""The kessai command's scripting output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.core.management import call_command

from kessai.shops.models import ApiKey, Shop
from kessai.shops.services import authenticate_api_key


@pytest.mark.django_db
def test_createshop_json_prints_shop_id_and_a_working_test_key(capsys):
    call_command("createshop", "--name", "デモ雑貨店", "--json")

    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"shop_id", "api_key"}
    assert out["shop_id"].startswith("shop_")
    assert out["api_key"].startswith("sk_test_")
    assert Shop.objects.get(pk=out["shop_id"]).name == "デモ雑貨店"
    key = authenticate_api_key(out["api_key"])
    assert key is not None
    assert key.shop_id == out["shop_id"]
    assert out["api_key"] not in str(list(ApiKey.objects.values()))  # stored hashed only


def test_console_script_runs_django_commands():
    result = subprocess.run(
        [sys.executable, "-m", "kessai.cli", "check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
