"""The atone checksum (§3.3) against the published vector, and its invariants."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kessai.providers.atone import compute_checksum, widget_checksum
from kessai.providers.atone.checksum import checksum_source

VECTOR = json.loads((Path(__file__).parent / "data" / "atone-checksum-vector.json").read_text("utf-8"))


def test_vector_checksum_matches_published_value() -> None:
    assert compute_checksum(VECTOR["payment"], VECTOR["secret_key"]) == VECTOR["checksum"]


def test_vector_source_string_is_the_documented_one() -> None:
    expected = (
        "-BQhbgwCordkeJjKnY-Z3w,12460台北市信義區松智路1號11樓1990-01-01Net Protections注⽂太郎注⽂太郎業務"
        "np@netprotections.co.jp090-1111-1111121608108備註銀座太郎1【豪華車庫房 3h】銀星會員贈送0.5h1099"
        "https://np-pay.be/items/012/P19122317true1122700049"
    )
    assert checksum_source(VECTOR["payment"], VECTOR["secret_key"]) == expected


def test_checksum_key_is_never_hashed() -> None:
    with_checksum = {**VECTOR["payment"], "checksum": "anything"}
    assert compute_checksum(with_checksum, VECTOR["secret_key"]) == VECTOR["checksum"]


def test_checksum_is_44_chars_of_standard_base64() -> None:
    value = compute_checksum({"amount": 1}, "k")
    assert len(value) == 44
    assert value.endswith("=")


def test_none_values_are_omitted_and_bools_are_words() -> None:
    assert checksum_source({"a": None, "b": True, "c": False, "d": 0}, "s") == "s,truefalse0"


def test_unsupported_value_types_are_refused() -> None:
    with pytest.raises(TypeError):
        compute_checksum({"amount": 1.5}, "s")


def test_widget_checksum_excludes_shop_transaction_no_and_transaction_options() -> None:
    payment = dict(VECTOR["payment"])
    without = {k: v for k, v in payment.items() if k != "shop_transaction_no"}
    payment["transaction_options"] = [1]
    assert widget_checksum(payment, VECTOR["secret_key"]) == compute_checksum(without, VECTOR["secret_key"])
    assert widget_checksum(payment, VECTOR["secret_key"]) != VECTOR["checksum"]


def _shuffled(value: Any, rnd: random.Random) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {k: _shuffled(value[k], rnd) for k in keys}
    if isinstance(value, list):
        return [_shuffled(v, rnd) for v in value]
    return value


_scalars = st.none() | st.booleans() | st.integers(-(10**9), 10**9) | st.text(max_size=8)
_keys = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)
_json = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(payment=st.dictionaries(_keys, _json, max_size=6), seed=st.integers(0, 2**32 - 1))
def test_key_order_never_changes_the_checksum(payment: dict[str, Any], seed: int) -> None:
    reordered = _shuffled(payment, random.Random(seed))
    assert compute_checksum(reordered, "secret") == compute_checksum(payment, "secret")


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_vector_checksum_is_independent_of_key_order(seed: int) -> None:
    reordered = _shuffled(VECTOR["payment"], random.Random(seed))
    assert compute_checksum(reordered, VECTOR["secret_key"]) == VECTOR["checksum"]
