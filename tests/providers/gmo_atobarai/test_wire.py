"""The XML wire helpers: building requests, and parsing answers defused against DTD/entity tricks."""

from __future__ import annotations

import pytest

from kessai.providers.gmo_atobarai.wire import UnsafeXml, build, parse, to_tree

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<response><result>&lol3;</result></response>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!doctype response [<!entity xxe SYSTEM "file:///etc/passwd">]>
<response><result>&xxe;</result></response>"""


def test_build_nests_mappings_repeats_lists_and_escapes() -> None:
    document = build(
        "request",
        {
            "shopInfo": {"shopCode": "ab<&>"},
            "details": {"detail": [{"detailName": "A"}, {"detailName": "B"}]},
            "empty": None,
        },
    )
    assert document == (
        b'<?xml version="1.0" encoding="UTF-8"?><request><shopInfo><shopCode>ab&lt;&amp;&gt;</shopCode></shopInfo>'
        b"<details><detail><detailName>A</detailName></detail><detail><detailName>B</detailName></detail></details>"
        b"<empty /></request>"
    )


def test_round_trip_to_tree() -> None:
    tree = to_tree(parse(build("request", {"a": {"b": ["1", "2"], "c": "審査中"}})))
    assert tree == {"a": {"b": ["1", "2"], "c": "審査中"}}


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (BILLION_LAUGHS, "DOCTYPE/ENTITY"),
        (EXTERNAL_ENTITY, "DOCTYPE/ENTITY"),
        (b'<response><!ENTITY x "y"></response>', "DOCTYPE/ENTITY"),
        (b"<response><! DocType x></response>", "DOCTYPE/ENTITY"),
        ('<?xml version="1.0" encoding="UTF-16"?><r/>'.encode("utf-16"), "not UTF-8"),
        (b"<response>" + b"x" * 1_048_577 + b"</response>", "larger than"),
        (b"<response><result>OK</response>", "not well-formed"),
        (b"", "not well-formed"),
    ],
)
def test_unsafe_or_broken_documents_are_refused_before_parsing(document: bytes, reason: str) -> None:
    with pytest.raises(UnsafeXml, match=reason):
        parse(document)


def test_comments_and_cdata_are_fine() -> None:
    root = parse(b"<response><!-- note --><result><![CDATA[OK]]></result></response>")
    assert to_tree(root) == {"result": "OK"}
