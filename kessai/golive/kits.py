"""Checkout copy kits: what each provider's onboarding guide asks a shop to show and to send.

One :class:`CheckoutKit` per provider, written from the provider's own guide (atone: ``seeds/000``,
「利用開始に必要な準備事項」). A kit gives the defaults of a shop's editable copy (:mod:`.copy`), the
phrases the checklist looks for on the checkout and on the shop's pages (:mod:`.checks`), and the
準備完了連絡 mail (:mod:`.mail`). Providers without a kit get no copy checks (``na``), not made-up text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape

SENTENCE_RE = re.compile(r"[^。]+。?")


@dataclass(frozen=True)
class Phrase:
    """Text a page must contain. ``label`` names it in Japanese when it is missing."""

    label: str
    text: str

    @property
    def named(self) -> str:
        return f"{self.label}「{self.text}」"


def name_missing(missing: list[Phrase], checked: list[Phrase]) -> list[str]:
    """How to tell staff what is missing: each phrase, or 「<label>(全文)」 when a whole block is absent."""
    names: list[str] = []
    for label in dict.fromkeys(p.label for p in missing):
        gone = [p for p in missing if p.label == label]
        whole = [p for p in checked if p.label == label]
        if len(gone) == len(whole) > 1:
            names.append(f"{label}(全文)")
        else:
            names.extend(p.named for p in gone)
    return names


@dataclass(frozen=True)
class Section:
    """A block of the official copy: paragraphs, each either text or a list of lines."""

    label: str
    paragraphs: tuple[tuple[str, ...], ...]
    link_text: str = ""  # a phrase inside the section that links to the provider's site
    bullets: bool = False  # render one-line paragraphs as <ul> (注意事項)

    def lines(self) -> list[str]:
        return [line for paragraph in self.paragraphs for line in paragraph]

    def phrases(self) -> list[Phrase]:
        """One phrase per sentence, so a page that lacks one sentence is told which."""
        found: list[Phrase] = []
        for line in self.lines():
            sentences = [s.strip() for s in SENTENCE_RE.findall(line) if s.strip()]
            found.extend(Phrase(self.label, s) for s in sentences)
        return found

    def html(self, link: str) -> str:
        if self.bullets:
            return "<ul>\n" + "\n".join(f"<li>{self._line(line, link)}</li>" for line in self.lines()) + "\n</ul>"
        return "\n".join("<p>" + "<br>\n".join(self._line(line, link) for line in p) + "</p>" for p in self.paragraphs)

    def _line(self, line: str, link: str) -> str:
        text = escape(line, quote=False)
        if self.link_text and self.link_text in line and link:
            anchor = f'<a href="{escape(link)}">{escape(self.link_text, quote=False)}</a>'
            text = text.replace(escape(self.link_text, quote=False), anchor, 1)
        return text


@dataclass(frozen=True)
class Confirmation:
    """One ✓ of the guide's list before the 準備完了連絡; ``evidence``: checklist items that prove it
    (none: only the sender can confirm it)."""

    text: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckoutKit:
    provider: str
    name: str  # 決済項目名
    banner_link: str  # the banner links to the provider's service site
    banner_help: str  # where the shop gets the banner image
    description: Section  # 説明文
    instructions: Section  # お支払い方法
    notes: Section  # 注意事項
    mail_to: str  # 準備完了連絡の宛先
    mail_addressee: str
    mail_subject: str  # followed by the company name
    confirmations: tuple[Confirmation, ...]  # 送信前の確認事項 (the guide's ✓ list)
    test_decline_name: str  # the buyer name the provider uses for its own NG test
    source: str
    webhook_console: str = ""  # where staff register the webhook URLs

    def phrases_for_checkout(self) -> list[Phrase]:
        return [
            Phrase("決済名", self.name),
            *self.description.phrases(),
            *self.instructions.phrases(),
            *self.notes.phrases(),
        ]

    def phrases_for_guide_page(self) -> list[Phrase]:
        """4. 支払方法説明ページ: 決済名・バナー・説明文."""
        return [Phrase("決済名", self.name), *self.description.phrases()]

    def phrases_for_legal_page(self) -> list[Phrase]:
        """5. 特定商取引法に関する記載ページ: 決済名."""
        return [Phrase("決済名", self.name)]

    def default_description_html(self) -> str:
        return self.description.html(self.banner_link)

    def default_instructions_html(self) -> str:
        return self.instructions.html(self.banner_link)

    def default_notes_html(self) -> str:
        return self.notes.html(self.banner_link)


ATONE = CheckoutKit(
    provider="atone",
    name="atone 翌月払い(コンビニ/口座振替)",
    banner_link="https://atone.be/",
    banner_help=(
        "atoneの導入ガイド(「決済選択画面の設定」)に掲載されているバナー画像のURLを入力してください。"
        "バナーにはatoneサービスサイト(https://atone.be/)へのリンクを設定します。"
    ),
    description=Section(
        "atone説明文",
        (
            (
                "atone (アトネ) は誰でもすぐに使える翌月払いです。今月のご利用分をまとめて、"
                "翌月にコンビニまたは口座振替でお支払いいただけます。",
            ),
            (
                "200円で1ポイント、atoneのお買い物に使えるお得なNPポイントが貯まります。"
                "詳細は atone の公式ページをご覧ください。",
            ),
        ),
        link_text="atone の公式ページ",
    ),
    instructions=Section(
        "お支払い方法",
        (
            (
                "お支払いに必要な番号を、お買い物の翌月初旬にメールでご案内いたします。"
                "Loppiなどのコンビニ端末、または銀行ATM (Pay-easy) で、翌月10日までにお支払いください。",
            ),
            ("お支払い方法は以下4つから選べます。スマホアプリまたはWebマイページから、月末までにお手続きください。",),
            (
                "(1) コンビニ端末 / 銀行ATM (Pay-easy) ※標準設定",
                "(2) 電子バーコード (コンビニ)",
                "(3) はがき請求書 (コンビニ)",
                "(4) 口座振替",
            ),
            (
                "※コンビニ端末 / 銀行ATM (Pay-easy) は、セブンイレブンではお支払いいただけません。",
                "※電子バーコード・はがき請求書は、セブンイレブンでもお支払いいただけます。",
            ),
        ),
    ),
    notes=Section(
        "注意事項",
        (
            ("決済手数料は無料です。",),
            ("ご利用月のみ請求手数料209円(税込)が発生いたします。 (口座振替の場合は無料)",),
            ("支払期限日は支払い方法によって異なります。",),
            ("代金は株式会社ネットプロテクションズの会員規約に基づき指定の方法で請求いたします。",),
        ),
        bullets=True,
    ),
    mail_to="start@atone.be",
    mail_addressee="atone新規変更受付デスク",
    mail_subject="サービス開始準備完了",
    confirmations=(
        Confirmation("「決済方法選択ページ(買い物かご)」の設定をした", ("checkout_copy",)),
        Confirmation("「お支払い方法に関する説明ページ」のページを設定した", ("payment_guide_page",)),
        Confirmation("規定文言(atone説明文)を掲載した", ("checkout_copy", "payment_guide_page")),
        Confirmation("バナーを掲載し、リンク設定も行った", ("checkout_copy", "payment_guide_page")),
        Confirmation("弊社が確認できる環境(本番環境、画面キャプチャなど)を準備した"),
        Confirmation("特定商取引法ページのお支払い方法に関する記載に、atoneを追加した", ("legal_notice_page",)),
    ),
    test_decline_name="NPテスト",
    source="atone「利用開始に必要な準備事項」(seeds/000)",
    webhook_console=(
        "atone加盟店管理システムの「企業・店舗管理」で該当店舗を開き、①決済Webhook(与信OK時/NG時)・②認証Webhookに"
        "次のURLを設定し、ステータスを「有効」にして保存してください。"
    ),
)

KITS: dict[str, CheckoutKit] = {ATONE.provider: ATONE}


def kit_for(provider: str) -> CheckoutKit | None:
    return KITS.get(provider)
