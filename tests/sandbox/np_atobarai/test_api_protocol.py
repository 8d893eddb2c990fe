"""The envelope, authentication and routing rules of protocol note §1.1 / §1.2."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.np_atobarai.helpers import TLS, Np, basic, headers, register_item


def test_the_index_names_the_api_root(np: Np) -> None:
    body = httpx.get(np.url + "/", timeout=5, verify=TLS).json()
    assert body["api_base_url"] == np.url + "/v1/"


@pytest.mark.parametrize(
    ("hdrs", "status"),
    [
        ({"Authorization": ""}, 401),
        ({"Authorization": basic(sp_code="wrong")}, 401),
        ({"Authorization": basic(merchant_code="akt9999999")}, 401),
        ({"Authorization": "Basic not-base64!"}, 401),
        ({"Authorization": "Bearer x"}, 401),
        ({"X-NP-Terminal-Id": "another-system"}, 403),
        ({"X-NP-Terminal-Id": ""}, 403),
    ],
)
def test_bad_credentials_are_401_and_a_wrong_terminal_403(np: Np, hdrs: dict[str, str], status: int) -> None:
    response = np.post("transactions", [register_item()], headers=headers(**hdrs))
    assert response.status_code == status
    assert np.app.ledger()["transactions"] == []


def test_the_credential_probe_is_400_epro0101_with_valid_codes(np: Np) -> None:
    response = np.post("authorizations/find", [])
    assert (response.status_code, response.json()) == (400, {"errors": [{"codes": ["EPRO0101"], "id": ""}]})


def test_unknown_paths_and_methods(np: Np) -> None:
    assert np.post("transactions/nothing", [{}]).status_code == 404
    assert np.post("transactions/update", [{}], method="POST").status_code == 405
    assert np.post("transactions", [{}], method="PATCH").status_code == 405


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"content": b"{}", "headers": headers(**{"Content-Type": "text/plain"})}, "EKSB0002"),
        ({"content": b"{not json", "headers": headers()}, "EKSB0003"),
        ({"json": {"transactions": {"a": 1}}}, "EKSB0003"),
        ({"json": {"transactions": ["x"]}}, "EKSB0003"),
        ({"json": {"transactions": []}}, "EPRO0101"),
        ({"json": {"transactions": [{}] * 1001}}, "EPRO0102"),
    ],
)
def test_envelope_errors_refuse_the_whole_request(np: Np, kwargs: dict[str, Any], code: str) -> None:
    response = np.post("transactions", None, **kwargs)
    assert response.status_code == 400
    assert response.json()["errors"][0]["codes"] == [code]
    assert np.app.ledger()["transactions"] == []


def test_the_same_np_id_twice_is_epro0106_and_nothing_happens(np: Np) -> None:
    np_id = np.register()["np_transaction_id"]
    response = np.post(
        "transactions/cancel", [{"np_transaction_id": np_id}, {"np_transaction_id": np_id}], method="PATCH"
    )
    assert (response.status_code, response.json()) == (400, {"errors": [{"codes": ["EPRO0106"], "id": np_id}]})
    assert np.app.transaction(np_id)["life"] == "open"


@pytest.mark.parametrize(("np_id", "code"), [("", "EPRO0105"), ("12-45", "E0100002"), ("1234567890", "E0100003")])
def test_np_id_format(np: Np, np_id: str, code: str) -> None:
    assert np.codes("transactions/cancel", {"np_transaction_id": np_id}, method="PATCH") == [code]


def test_items_succeed_or_fail_on_their_own(np: Np) -> None:
    good = register_item(shop_transaction_id="OK-1")
    bad = register_item(shop_transaction_id="BAD-1", billed_amount=1)
    response = np.post("transactions", [good, bad])
    body = response.json()
    assert response.status_code == 400
    assert [r["shop_transaction_id"] for r in body["results"]] == ["OK-1"]
    assert body["errors"] == [{"codes": ["EKSB0106"], "id": "BAD-1"}]
    assert len(np.app.ledger()["transactions"]) == 1


def test_an_envelope_of_1000_items_is_accepted(np: Np) -> None:
    items = [register_item(shop_transaction_id=f"N-{i}") for i in range(1000)]
    response = np.post("transactions", items)
    assert response.status_code == 200
    ids = [r["np_transaction_id"] for r in response.json()["results"]]
    assert len(set(ids)) == 1000
    assert all(len(i) == 11 and i.isdigit() for i in ids)
