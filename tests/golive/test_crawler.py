"""The page crawler: a local http.server plays the shop's site. Only http(s), explicit limits, charsets."""

from __future__ import annotations

import httpx
import pytest

from kessai.golive import crawler
from kessai.golive.kits import ATONE
from kessai.golive.services import check_page
from kessai.golive.text import read_html
from tests.golive.helpers import OFFICIAL_NAME, PageServer, legal_page

DESCRIPTION = ATONE.description.lines()


def guide_html(
    *, name: str = OFFICIAL_NAME, description: tuple[str, ...] = tuple(DESCRIPTION), banner: bool = True
) -> str:
    image = (
        '<a href="https://atone.be/"><img src="https://atone.be/images/banner.png" alt="atone"></a>' if banner else ""
    )
    paragraphs = "".join(f"<p>{line}</p>" for line in description)
    return f"<html><body><h3>{name}</h3>{image}{paragraphs}<script>var x='{OFFICIAL_NAME}';</script></body></html>"


def test_a_page_with_the_copy_passes(pages: PageServer):
    url = pages.page("/guide", guide_html())

    result = check_page(url, ATONE, guide=True)

    assert (result.ok, result.missing, result.final_url, result.encoding) == (True, [], url, "utf-8")
    assert pages.hits == ["/guide"]


def test_a_missing_sentence_and_banner_are_named(pages: PageServer):
    second = DESCRIPTION[1]
    url = pages.page("/guide", guide_html(description=(DESCRIPTION[0], second.split("。")[0] + "。"), banner=False))

    result = check_page(url, ATONE, guide=True)

    assert not result.ok
    assert result.missing == [
        "atone説明文「詳細は atone の公式ページをご覧ください。」",
        "バナー(https://atone.be/ へのリンクを付けた画像)",
    ]
    assert "詳細は atone の公式ページをご覧ください。" in result.detail
    assert url in result.detail


def test_the_name_only_in_a_script_does_not_count(pages: PageServer):
    url = pages.page(
        "/legal",
        "<html><body><p>お支払い方法: クレジットカード</p><script>'" + OFFICIAL_NAME + "'</script></body></html>",
    )

    result = check_page(url, ATONE, guide=False)

    assert result.missing == [f"決済名「{OFFICIAL_NAME}」"]


def test_full_width_brackets_and_line_breaks_still_match(pages: PageServer):
    name = "atone　翌月払い（コンビニ／口座振替）"
    url = pages.page("/legal", legal_page([name]).replace("、" + name, "、\n  " + name))

    assert check_page(url, ATONE, guide=False).ok


@pytest.mark.parametrize("charset", ["shift_jis", "euc_jp"])
def test_shift_jis_and_euc_jp_pages_are_decoded(pages: PageServer, charset: str):
    html = guide_html().replace("<html>", f'<html><head><meta charset="{charset}"></head>')
    header_less = pages.page("/sjis", html, charset=charset, content_type="text/html")
    pages.routes["/sjis"] = (200, {"Content-Type": "text/html"}, html.encode(charset))  # charset only in <meta>

    result = check_page(header_less, ATONE, guide=True)

    assert (result.ok, result.encoding) == (True, charset)


def test_redirects_are_followed_and_rechecked(pages: PageServer):
    target = pages.page("/new", legal_page([OFFICIAL_NAME]))
    start = pages.raw("/old", 301, {"Location": "/new"})

    assert crawler.fetch(start).url == target
    pages.raw("/loop", 302, {"Location": "/loop"})
    with pytest.raises(crawler.FetchError, match="リダイレクトが多すぎます"):
        crawler.fetch(pages.url("/loop"))
    pages.raw("/away", 302, {"Location": "file:///etc/passwd"})
    with pytest.raises(crawler.FetchError, match="http:// または https://"):
        crawler.fetch(pages.url("/away"))


def test_errors_say_what_went_wrong(pages: PageServer, monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(crawler.FetchError, match="HTTP 404"):
        crawler.fetch(pages.url("/nothing"))
    pages.raw("/pdf", 200, {"Content-Type": "application/pdf"}, b"%PDF-1.4")
    with pytest.raises(crawler.FetchError, match="HTMLのページではありません"):
        crawler.fetch(pages.url("/pdf"))
    monkeypatch.setattr(crawler, "MAX_BYTES", 1024)
    pages.page("/big", "<p>" + "あ" * 2000 + "</p>")
    with pytest.raises(crawler.FetchError, match="ページが大きすぎます"):
        crawler.fetch(pages.url("/big"))
    with pytest.raises(crawler.FetchError, match="http:// または https://"):
        crawler.fetch("ftp://shop.example.jp/guide")
    with pytest.raises(crawler.FetchError, match="ユーザー名やパスワード"):
        crawler.fetch("https://user:secret@shop.example.jp/guide")


def test_private_addresses_are_refused_unless_the_install_allows_them(pages: PageServer, settings):
    url = pages.page("/guide", guide_html())
    settings.KESSAI_GOLIVE_ALLOW_PRIVATE_URLS = False

    with pytest.raises(crawler.FetchError, match=r"公開されていないアドレス\(127\.0\.0\.1\)"):
        crawler.fetch(url)
    assert pages.hits == []  # refused before any request

    settings.KESSAI_GOLIVE_ALLOW_PRIVATE_URLS = True
    assert crawler.fetch(url).status_code == 200


def test_a_silent_server_times_out(monkeypatch: pytest.MonkeyPatch):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts, never answers
    monkeypatch.setattr(crawler, "TIMEOUT", httpx.Timeout(0.3))
    try:
        with pytest.raises(crawler.FetchError, match="時間内に応答がありませんでした"):
            crawler.fetch(f"http://127.0.0.1:{listener.getsockname()[1]}/guide")
    finally:
        listener.close()


def test_text_reading_ignores_markup_but_keeps_links_and_banners():
    page = read_html(
        '<p>atone<br>翌月払い</p><a href="https://atone.be/?from=shop"><img src="b.png"></a>'
        '<a href="https://evil.example/atone.be/">x</a><style>.a{}</style>'
    )
    assert [link.href for link in page.banner_links("https://atone.be/")] == ["https://atone.be/?from=shop"]
    assert page.links_to("https://atone.be/")[0].images == ["b.png"]
    assert ".a{}" not in page.text


def test_a_page_without_the_description_names_the_whole_block(pages: PageServer):
    url = pages.page("/guide", guide_html(description=()))

    result = check_page(url, ATONE, guide=True)

    assert result.missing == ["atone説明文(全文)"]
