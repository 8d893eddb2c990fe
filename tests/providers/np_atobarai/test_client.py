"""NpAtobaraiClient with httpx.MockTransport: headers, envelope, answers and failures."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from kessai.providers.base import ProviderAuthError, ProviderRequestInvalid, ProviderUnavailable
from kessai.providers.np_atobarai.client import NpAtobaraiClient, basic_auth_value, chunks
from tests.providers.np_atobarai.helpers import (
    MERCHANT_CODE,
    NP_ID,
    SP_CODE,
    TERMINAL_ID,
    FakeApi,
    answer,
    errors,
    results,
    screening,
)


def client(api: FakeApi, timeout: float = 5.0) -> NpAtobaraiClient:
    return NpAtobaraiClient(
        merchant_code=MERCHANT_CODE,
        sp_code=SP_CODE,
        terminal_id=TERMINAL_ID,
        base_url="http://np.test/v1",
        timeout=timeout,
        transport=api.transport,
    )


def test_basic_auth_is_merchant_code_colon_sp_code() -> None:
    value = basic_auth_value("akt0000001", "sp")
    assert value == "Basic " + base64.b64encode(b"akt0000001:sp").decode()


def test_every_call_sends_the_envelope_with_auth_terminal_and_json_headers() -> None:
    api = FakeApi(answer(200, results(screening())))
    result, batch = client(api).call_one(
        "register",
        "POST",
        "transactions",
        {"shop_transaction_id": "A-1001"},
        id_field="shop_transaction_id",
        target_id="A-1001",
    )

    request = api.requests[0]
    assert (request.method, str(request.url)) == ("POST", "http://np.test/v1/transactions")
    assert request.headers["authorization"] == basic_auth_value(MERCHANT_CODE, SP_CODE)
    assert request.headers["x-np-terminal-id"] == TERMINAL_ID
    assert request.headers["content-type"] == "application/json"
    assert api.body() == {"transactions": [{"shop_transaction_id": "A-1001"}]}
    assert result["np_transaction_id"] == NP_ID
    assert batch.status == 200
    assert len(batch.request_id) == 32


def test_the_read_timeout_is_capped_at_npS_recommended_30_seconds() -> None:
    slow = client(FakeApi(answer(200, {})), timeout=120.0)
    assert (slow.timeout.read, slow.timeout.connect) == (30.0, 5.0)
    with pytest.raises(ValueError, match="timeout"):
        client(FakeApi(answer(200, {})), timeout=0)


def test_credentials_never_appear_in_repr_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    api = FakeApi(answer(200, results(screening())))
    caplog.set_level(logging.INFO, "kessai.providers.np_atobarai")
    c = client(api)
    c.call("fetch", "POST", "authorizations/find", [{"np_transaction_id": NP_ID}])
    assert SP_CODE not in repr(c)
    assert SP_CODE not in caplog.text
    assert "np_atobarai fetch POST /authorizations/find -> 200" in caplog.text


def test_item_errors_raise_with_the_action_prefix_and_request_id() -> None:
    api = FakeApi(answer(400, errors("E0100118")))
    with pytest.raises(ProviderRequestInvalid) as exc:
        client(api).call_one(
            "cancel",
            "PATCH",
            "transactions/cancel",
            {"np_transaction_id": NP_ID},
            id_field="np_transaction_id",
            target_id=NP_ID,
        )
    assert exc.value.code == "cancel:E0100118"
    assert exc.value.request_id
    assert exc.value.payload["http_status"] == 400


@pytest.mark.parametrize("status", [401, 403])
def test_bad_credentials_are_auth_errors(status: int) -> None:
    with pytest.raises(ProviderAuthError) as exc:
        client(FakeApi(answer(status, {"message": "Unauthorized"}))).call("x", "POST", "shipments", [{}])
    assert exc.value.code == f"x:HTTP{status}"


@pytest.mark.parametrize(
    ("responder", "code"),
    [
        (answer(503, text="<html>busy</html>"), "x:HTTP503"),
        (answer(429, text="slow down"), "x:HTTP429"),
        (answer(404, {"message": "nope"}), "x:HTTP404"),
        (answer(200, text="not json"), "x:unparseable"),
        (answer(200, ["not", "an", "object"]), "x:unparseable"),
        (answer(200, {"results": "nope"}), "x:unparseable"),
        (answer(400, {"message": "no errors array"}), "x:unparseable"),
    ],
)
def test_everything_not_understood_is_an_unknown_outcome(responder, code: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ProviderUnavailable) as exc:
        client(FakeApi(responder)).call("x", "POST", "shipments", [{}])
    assert exc.value.code == code


def test_a_200_without_exactly_one_result_for_the_item_is_not_success() -> None:
    for body in (results(), results(screening(), screening(np_id="25011000002")), results(screening(np_id="X"))):
        with pytest.raises(ProviderUnavailable) as exc:
            client(FakeApi(answer(200, body))).call_one(
                "fetch",
                "POST",
                "authorizations/find",
                {"np_transaction_id": NP_ID},
                id_field="np_transaction_id",
                target_id=NP_ID,
            )
        assert exc.value.code == "fetch:unparseable"


def test_timeouts_and_connection_errors_are_unavailable_with_a_request_id() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("Server disconnected", request=request)

    with pytest.raises(ProviderUnavailable) as exc:
        client(FakeApi(timeout)).call("register", "POST", "transactions", [{}])
    assert exc.value.code == "register:timeout"
    assert exc.value.request_id
    with pytest.raises(ProviderUnavailable) as exc:
        client(FakeApi(reset)).call("register", "POST", "transactions", [{}])
    assert exc.value.code == "register:connection"
    assert exc.value.payload == {"detail": "RemoteProtocolError"}


def test_a_batch_keeps_results_and_per_item_errors_apart() -> None:
    body = {
        "results": [{"np_transaction_id": NP_ID}],
        "errors": [{"codes": ["E0100115"], "id": "25011000002"}, {"codes": [], "id": "ignored"}],
    }
    batch = client(FakeApi(answer(400, body))).call("shipment", "POST", "shipments", [{}, {}])
    assert batch.result_for("np_transaction_id", NP_ID) == {"np_transaction_id": NP_ID}
    assert batch.errors_for("25011000002") == ("E0100115",)
    assert batch.errors_for(NP_ID) == ()
    assert batch.codes == ("E0100115",)


def test_more_than_1000_items_are_refused_before_sending() -> None:
    api = FakeApi(answer(200, results()))
    with pytest.raises(ProviderRequestInvalid) as exc:
        client(api).call("shipment", "POST", "shipments", [{}] * 1001)
    assert exc.value.code == "shipment:EPRO0102"
    assert api.requests == []
    assert [len(part) for part in chunks([{}] * 2500)] == [1000, 1000, 500]
