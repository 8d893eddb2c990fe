"""The widget checksum (§3.3) against the protocol note's test vector, and decision 2's variants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kessai.sandbox.atone.checksum import checksum_matches, checksum_source, compute_checksum

VECTOR: dict[str, Any] = json.loads((Path(__file__).parent / "data" / "atone-checksum-vector.json").read_text())

# The string to hash, verbatim from shared/providers/atone.md §3.3 (注⽂ uses U+2F42 ⽂, not U+6587 文).
EXPECTED_SOURCE = (
    "-BQhbgwCordkeJjKnY-Z3w,12460台北市信義區松智路1號11樓1990-01-01Net Protections注⽂太郎注⽂太郎業務"
    "np@netprotections.co.jp090-1111-1111121608108備註銀座太郎1【豪華車庫房 3h】銀星會員贈送0.5h1099"
    "https://np-pay.be/items/012/P19122317true1122700049"
)


def test_vector_source_string_matches_the_note() -> None:
    assert checksum_source(VECTOR["payment"], VECTOR["secret_key"]) == EXPECTED_SOURCE


def test_vector_checksum() -> None:
    assert compute_checksum(VECTOR["payment"], VECTOR["secret_key"]) == VECTOR["checksum"]
    assert VECTOR["checksum"] == "miZt1Gmns8GA2jb/D21L1rMZ8Qutc49BOHLtezm2YKk="


def test_checksum_key_is_ignored_and_keys_are_sorted_at_every_level() -> None:
    shuffled = {
        "sales_settled": True,
        "checksum": "anything",
        **dict(reversed(list(VECTOR["payment"].items()))),
        "customer": dict(reversed(list(VECTOR["payment"]["customer"].items()))),
    }
    assert compute_checksum(shuffled, VECTOR["secret_key"]) == VECTOR["checksum"]


def test_null_fields_contribute_nothing() -> None:
    assert checksum_source({"a": None, "b": "x", "c": {"d": None}}, "k") == "k,x"


def test_arrays_keep_their_order_and_scalars_render_like_php() -> None:
    assert checksum_source({"transaction_options": [3, 1], "f": False, "t": True}, "k") == "k,falsetrue31"


def test_emulator_accepts_the_vector_as_given() -> None:
    assert checksum_matches({**VECTOR["payment"], "checksum": VECTOR["checksum"]}, VECTOR["secret_key"])


def test_emulator_accepts_the_variant_without_shop_transaction_no_and_options() -> None:
    payment = {**VECTOR["payment"], "transaction_options": [1]}
    hashed = {k: v for k, v in payment.items() if k not in ("shop_transaction_no", "transaction_options")}
    assert checksum_matches(
        {**payment, "checksum": compute_checksum(hashed, VECTOR["secret_key"])}, VECTOR["secret_key"]
    )


def test_emulator_refuses_a_tampered_payment_a_wrong_key_or_no_checksum() -> None:
    signed = {**VECTOR["payment"], "checksum": VECTOR["checksum"]}
    assert not checksum_matches({**signed, "amount": 12461}, VECTOR["secret_key"])
    assert not checksum_matches(signed, "another-secret-key-000")
    assert not checksum_matches(VECTOR["payment"], VECTOR["secret_key"])
    assert not checksum_matches({**VECTOR["payment"], "checksum": "ｍ"}, VECTOR["secret_key"])
