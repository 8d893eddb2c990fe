"""AtoneClient over httpx.MockTransport: headers, verbs, method override, failure classification."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest

from kessai.providers.atone.client import AtoneClient, basic_auth_value
from kessai.providers.base import ProviderRequestInvalid, ProviderUnavailable

from .helpers import SECRET_KEY, FakeApi, answer, error_body, transaction


def client_with(api: FakeApi, **kwargs: object) -> AtoneClient:
    return AtoneClient(
        secret_key=SECRET_KEY,
        base_url="http://atone.test/v1",
        timeout=3.0,
        transport=api.transport,
        **kwargs,  # type: ignore[arg-type]
    )


def test_basic_auth_is_base64_of_the_secret_alone_without_colon() -> None:
    value = basic_auth_value("abc")
    assert value == "Basic " + base64.b64encode(b"abc").decode()
    assert base64.b64decode(value.removeprefix("Basic ")) == b"abc"


def test_every_call_sends_auth_json_headers_and_no_terminal_id_by_default() -> None:
    api = FakeApi(answer(200, transaction()))
    client_with(api).get_transaction("tr_AAAAAAAAAAAAAAAA")

    request = api.requests[0]
    assert request.headers["Authorization"] == basic_auth_value(SECRET_KEY)
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"
    assert "X-NP-Terminal-Id" not in request.headers
    assert "X-HTTP-Method-Override" not in request.headers


def test_terminal_id_header_is_sent_when_set() -> None:
    api = FakeApi(answer(200, transaction()))
    client_with(api, terminal_id="4000000400").get_transaction("tr_AAAAAAAAAAAAAAAA")
    assert api.requests[0].headers["X-NP-Terminal-Id"] == "4000000400"


def test_real_verbs_and_paths() -> None:
    api = FakeApi(answer(200, transaction()))
    client = client_with(api)
    client.create_transaction({"amount": 1})
    client.get_transaction("tr_AAAAAAAAAAAAAAAA")
    client.settle("tr_AAAAAAAAAAAAAAAA")
    client.refund("tr_AAAAAAAAAAAAAAAA", {"amount_refund": 1})

    assert [(r.method, r.url.path) for r in api.requests] == [
        ("POST", "/v1/transactions"),
        ("GET", "/v1/transactions/tr_AAAAAAAAAAAAAAAA"),
        ("PATCH", "/v1/transactions/tr_AAAAAAAAAAAAAAAA/settle"),
        ("PATCH", "/v1/transactions/tr_AAAAAAAAAAAAAAAA/refund"),
    ]
    assert api.requests[1].content == b""
    assert api.body(2) == {}
    assert api.body(3) == {"amount_refund": 1}


def test_method_override_sends_post_with_the_header_and_get_body() -> None:
    api = FakeApi(answer(200, transaction()))
    client = client_with(api, method_override=True)
    client.get_transaction("tr_AAAAAAAAAAAAAAAA")
    client.settle("tr_AAAAAAAAAAAAAAAA")
    client.create_transaction({"amount": 1})

    assert [r.method for r in api.requests] == ["POST", "POST", "POST"]
    assert [r.headers["X-HTTP-Method-Override"] for r in api.requests] == ["GET", "PATCH", "POST"]
    assert api.body(0) == {"id": "tr_AAAAAAAAAAAAAAAA"}


def test_transaction_id_is_path_quoted() -> None:
    api = FakeApi(answer(200, transaction()))
    client_with(api).get_transaction("tr_x/../../evil")
    assert api.requests[0].url.raw_path == b"/v1/transactions/tr_x%2F..%2F..%2Fevil"


def test_empty_transaction_id_is_refused_without_a_call() -> None:
    api = FakeApi(answer(200, transaction()))
    with pytest.raises(ProviderRequestInvalid):
        client_with(api).get_transaction(" ")
    assert api.requests == []


def test_each_call_gets_its_own_request_id() -> None:
    api = FakeApi(answer(200, transaction()))
    client = client_with(api)
    first = client.get_transaction("tr_AAAAAAAAAAAAAAAA")
    second = client.get_transaction("tr_AAAAAAAAAAAAAAAA")
    assert len(first.request_id) == 32
    assert first.request_id != second.request_id


def test_timeout_is_unavailable_with_request_id() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ProviderUnavailable) as caught:
        client_with(FakeApi(respond)).create_transaction({"amount": 1}, action="charge")
    assert caught.value.code == "charge:timeout"
    assert len(caught.value.request_id) == 32


@pytest.mark.parametrize("exc", [httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError])
def test_connection_failures_are_unavailable(exc: type[httpx.TransportError]) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    with pytest.raises(ProviderUnavailable) as caught:
        client_with(FakeApi(respond)).settle("tr_AAAAAAAAAAAAAAAA")
    assert caught.value.code == "settle:connection"


@pytest.mark.parametrize("text", ["<html>oops</html>", "[1, 2]", ""])
def test_unparseable_2xx_is_unavailable(text: str) -> None:
    with pytest.raises(ProviderUnavailable) as caught:
        client_with(FakeApi(answer(200, text=text))).get_transaction("tr_AAAAAAAAAAAAAAAA")
    assert caught.value.code == "fetch:unparseable"


def test_2xx_with_an_errors_array_is_a_failure() -> None:
    with pytest.raises(ProviderRequestInvalid) as caught:
        client_with(FakeApi(answer(200, error_body("EATN0331", "amount")))).create_transaction({})
    assert caught.value.code == "create:EATN0331"


def test_timeouts_are_explicit() -> None:
    client = AtoneClient(secret_key=SECRET_KEY, base_url="http://x/v1/", timeout=30.0)
    assert client.timeout.read == 30.0
    assert client.timeout.connect == 5.0


def test_secret_never_appears_in_repr_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api = FakeApi(answer(401, error_body("EATN0306", status_name="Unauthorized")))
    client = client_with(api)
    with pytest.raises(Exception) as caught:
        client.get_transaction("tr_AAAAAAAAAAAAAAAA")
    encoded = basic_auth_value(SECRET_KEY).removeprefix("Basic ")
    shown = repr(client) + str(caught.value) + repr(caught.value.payload) + caplog.text  # type: ignore[attr-defined]
    assert SECRET_KEY not in shown
    assert encoded not in shown
    assert "request_id=" in caplog.text
