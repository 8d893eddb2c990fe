"""The go-live checklist (本番開始チェック) of one shop and provider: what is done, on what evidence.

:func:`readiness` only reads — the account's 接続テスト time, the webhooks the hub stored, the payments
of the test account, the copy the checkout shows and the :class:`~kessai.golive.models.Evidence` the
actions in :mod:`kessai.golive.services` recorded (page checks, failed attempts). It never calls a
provider or fetches a page, so the API, the CLI and the agency overview can call it freely.

An item is ``ok`` only on evidence, ``ng`` when evidence shows a failure, ``pending`` when there is no
evidence yet and ``na`` when it does not apply to the provider. Items of the ``before_switch`` stage
gate the production switch; the ``after_switch`` item (本番テスト注文) is the last one.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from kessai.common.jst import format_jst
from kessai.golive.display import copy_for, methods_of, official_mismatches
from kessai.golive.fees import fee_info
from kessai.golive.kits import CheckoutKit, Phrase, kit_for
from kessai.golive.models import CheckoutCopy, Evidence, ProductionSwitch, ShopPages
from kessai.golive.text import squash
from kessai.payments.models import Operation, OperationResult, Payment
from kessai.payments.state import Action, PaymentState
from kessai.providers import registry
from kessai.providers.base import Capabilities
from kessai.providers.credentials import UnknownProvider
from kessai.shops import services as shop_services
from kessai.shops.keyring import KeyRingError
from kessai.shops.models import Environment, ProviderAccount, Shop
from kessai.webhooks.models import InboundWebhook


class Status(enum.StrEnum):
    OK = "ok"
    NG = "ng"
    PENDING = "pending"
    NA = "na"


class Stage(enum.StrEnum):
    BEFORE_SWITCH = "before_switch"
    AFTER_SWITCH = "after_switch"


# Evidence keys (also the item keys where they coincide).
CONNECTION_TEST = "connection_test"
TEST_WEBHOOKS = "test_webhooks"
PAYMENT_GUIDE_PAGE = "payment_guide_page"
LEGAL_NOTICE_PAGE = "legal_notice_page"
TEST_PURCHASE = "test_purchase"
LIVE_TEST_ORDER = "live_test_order"
READINESS_MAIL = "readiness_mail"


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    status: Status
    detail: str
    how_to_fix: str = ""
    stage: Stage = Stage.BEFORE_SWITCH

    @property
    def blocking(self) -> bool:
        return self.stage is Stage.BEFORE_SWITCH and self.status not in (Status.OK, Status.NA)

    def as_dict(self) -> dict[str, str]:
        return {
            "key": self.key,
            "title": self.title,
            "status": self.status.value,
            "detail": self.detail,
            "how_to_fix": "" if self.status in (Status.OK, Status.NA) else self.how_to_fix,
            "stage": self.stage.value,
        }


@dataclass(frozen=True)
class Readiness:
    shop: Shop
    provider: str
    account: ProviderAccount
    test_account: ProviderAccount | None
    production_account: ProviderAccount | None
    items: tuple[Item, ...]

    @property
    def ready(self) -> bool:
        """Every item before the switch is done: the production switch is allowed."""
        return not self.blocking

    @property
    def blocking(self) -> list[Item]:
        return [item for item in self.items if item.blocking]

    @property
    def live(self) -> bool:
        return self.production_account is not None and self.production_account.active

    @property
    def complete(self) -> bool:
        return self.live and all(item.status in (Status.OK, Status.NA) for item in self.items)

    def item(self, key: str) -> Item:
        return next(item for item in self.items if item.key == key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account": self.account.pk,
            "shop": self.shop.pk,
            "provider": self.provider,
            "environment": self.account.environment,
            "test_account": self.test_account.pk if self.test_account else None,
            "production_account": self.production_account.pk if self.production_account else None,
            "ready": self.ready,
            "live": self.live,
            "complete": self.complete,
            "items": [item.as_dict() for item in self.items],
        }


# --------------------------------------------------------------------------- context


def pick_account(shop: Shop, provider: str, environment: str) -> ProviderAccount | None:
    """The shop's account of a provider in one environment: the active one, else the newest."""
    return (
        ProviderAccount.objects.filter(shop=shop, provider=provider, environment=environment)
        .order_by("-active", "-created_at")
        .first()
    )


def capabilities(provider: str) -> Capabilities | None:
    try:
        caps = getattr(registry.adapter_class(provider), "capabilities", None)
    except UnknownProvider:
        return None
    return caps if isinstance(caps, Capabilities) else None


def page_signature(phrases: list[Phrase], banner_link: str) -> str:
    """What a page check looked for: a page checked against other phrases must be checked again."""
    text = "\n".join(p.text for p in phrases) + "\n" + banner_link
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def latest_evidence(shop: Shop, provider: str, key: str, account: ProviderAccount | None = None) -> Evidence | None:
    qs = Evidence.objects.filter(shop=shop, provider=provider, key=key)
    if account is not None:
        qs = qs.filter(account=account)
    return qs.order_by("-created_at", "-id").first()


@dataclass
class _Context:
    shop: Shop
    provider: str
    kit: CheckoutKit | None
    caps: Capabilities | None
    test: ProviderAccount | None
    production: ProviderAccount | None
    pages: ShopPages | None
    copy: CheckoutCopy
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = registry.info(self.provider).name


def _missing_credentials(account: ProviderAccount) -> list[str] | None:
    """Labels of required credentials not set; None when the stored credentials cannot be read."""
    schema = registry.schema(account.provider)
    try:
        masked = shop_services.masked_credentials(account)
    except KeyRingError:
        return None
    return [f.label for f in schema.fields if f.required and not masked.get(f.key)]


# --------------------------------------------------------------------------- items


def _keys_item(ctx: _Context) -> Item:
    title = _("認証鍵の設定と接続テスト(テスト環境)")
    fix = _(
        "「外部連携アカウント管理」で%(name)sのテスト環境に認証鍵を登録し、「接続テストとページの確認を実行」を押してください。"
    ) % {"name": ctx.name}
    account = ctx.test
    if account is None:
        return Item("keys", title, Status.PENDING, _("テスト環境のアカウントが登録されていません。"), fix)
    if ctx.caps is None:
        detail = _("この決済会社の連携モジュールはこのバージョンのKessaiにはありません。")
        return Item("keys", title, Status.NG, detail, _("連携モジュールのある決済会社をご利用ください。"))
    missing = _missing_credentials(account)
    if missing is None:
        detail = _("保存されている認証情報を復号できません(暗号鍵の設定を確認してください)。")
        return Item("keys", title, Status.NG, detail, fix)
    if missing:
        return Item("keys", title, Status.NG, _("未設定の項目があります: %(f)s") % {"f": "、".join(missing)}, fix)
    if account.last_test_ok_at is not None:
        detail = _("接続テスト成功: %(at)s") % {"at": format_jst(account.last_test_ok_at)}
        return Item("keys", title, Status.OK, detail, fix)
    failed = latest_evidence(ctx.shop, ctx.provider, CONNECTION_TEST, account)
    if failed is not None and not failed.ok:
        detail = _("接続テスト失敗(%(at)s): %(message)s") % {
            "at": format_jst(failed.created_at),
            "message": failed.detail,
        }
        return Item("keys", title, Status.NG, detail, fix)
    return Item("keys", title, Status.PENDING, _("接続テストが未実施です。"), fix)


def _webhook_item(ctx: _Context, kind: str) -> Item:
    key = f"webhook_{kind}"
    label = _("決済Webhook") if kind == "payment" else _("認証Webhook")
    title = _("%(label)sの受信(テスト環境)") % {"label": label}
    applies = ctx.caps is not None and ctx.caps.webhooks and (kind == "payment" or ctx.caps.tokens)
    if not applies:
        return Item(key, title, Status.NA, _("この決済会社は%(label)sを送信しません。") % {"label": label})
    account = ctx.test
    if account is None:
        return Item(key, title, Status.PENDING, _("テスト環境のアカウントが登録されていません。"), "")
    url = shop_services.webhook_urls(account)[kind]
    console = ctx.kit.webhook_console if ctx.kit else _("決済会社の管理画面にWebhook受信URLを登録してください。")
    fix = _(
        "%(console)s %(label)s: %(url)s ・テスト環境のサンドボックスでは「テストWebhookを送信」で確認できます。"
    ) % {
        "console": console,
        "label": label,
        "url": url,
    }
    rows = InboundWebhook.objects.filter(account=account, kind=kind)
    latest = rows.order_by("-received_at").first()
    if latest is not None:
        detail = _("受信済み: %(count)s件(最終受信 %(at)s)") % {
            "count": rows.count(),
            "at": format_jst(latest.received_at),
        }
        return Item(key, title, Status.OK, detail, fix)
    attempt = latest_evidence(ctx.shop, ctx.provider, TEST_WEBHOOKS, account)
    sent = (attempt.data.get("deliveries") or {}).get(kind) if attempt is not None else None
    if attempt is not None and isinstance(sent, dict):
        values = {
            "at": format_jst(attempt.created_at),
            "url": sent.get("url", ""),
            "error": sent.get("error") or sent.get("status_code") or "",
        }
        if sent.get("status") in ("failed", "discarded"):
            detail = _("テストWebhookがこのハブに届きませんでした(%(at)s、%(url)s): %(error)s") % values
            return Item(key, title, Status.NG, detail, fix)
        detail = _("テストWebhookを送信しました(%(at)s)。受信を待っています。") % values
        if values["error"]:
            detail += _(" 直近の送信結果: %(error)s") % values
        return Item(key, title, Status.PENDING, detail, fix)
    if attempt is not None and not attempt.ok and "deliveries" not in attempt.data:  # the sending itself failed
        return Item(key, title, Status.NG, attempt.detail, fix)
    return Item(key, title, Status.PENDING, _("まだ一度も受信していません。"), fix)


def _fee_warning(ctx: _Context) -> str:
    """atone's official 注意事項 says 「決済手数料は無料です。」: a shop charging its own fee should know."""
    if ctx.kit is None:
        return ""
    fee = fee_info(ctx.shop, ctx.provider)
    free_note = any("手数料は無料" in phrase.text for phrase in ctx.kit.notes.phrases())
    if fee is None or fee.free or not free_note:
        return ""
    return _(
        "(注意: 公式の注意事項は「決済手数料は無料です。」ですが、手数料設定で%(fee)sを請求しています。"
        "表記について%(desk)sに確認してください。)"
    ) % {"fee": fee.text, "desk": ctx.kit.mail_addressee}


def _checkout_copy_item(ctx: _Context) -> Item:
    title = _("決済選択画面の表示(決済名・バナー・説明文・お支払い方法・注意事項)")
    kit = ctx.kit
    fix = _("「決済選択画面の文言・掲載用HTML」で公式の文言を確認し、「支払方法に反映」を押してください。")
    if kit is None:
        return Item("checkout_copy", title, Status.NA, _("この決済会社の公式文言はまだ登録されていません。"))
    methods = methods_of(ctx.shop, ctx.provider, active_only=True)
    if not methods:
        detail = _("使用中の%(name)sの支払方法がありません。") % {"name": ctx.name}
        return Item(
            "checkout_copy", title, Status.NG, detail, _("「支払方法」で支払方法を登録し、「使用」にしてください。")
        )
    problems = []
    for method in methods:
        mismatches = official_mismatches(method, ctx.copy, kit)
        if mismatches:
            problems.append(
                _("「%(method)s」に公式の文言がありません: %(missing)s")
                % {"method": method.name, "missing": "、".join(str(m) for m in mismatches)}
            )
    if problems:
        return Item("checkout_copy", title, Status.NG, " ".join(problems), fix)
    detail = _("%(n)s件の支払方法が公式の文言で表示されています(%(source)s)。") % {
        "n": len(methods),
        "source": kit.source,
    }
    return Item("checkout_copy", title, Status.OK, detail + _fee_warning(ctx), fix)


def _page_item(ctx: _Context, key: str) -> Item:
    guide = key == PAYMENT_GUIDE_PAGE
    title = (
        _("支払方法説明ページへの掲載(決済名・バナー・説明文)")
        if guide
        else _("特定商取引法に基づく表記への記載(決済名)")
    )
    kit = ctx.kit
    if kit is None:
        return Item(key, title, Status.NA, _("この決済会社の公式文言はまだ登録されていません。"))
    url = (ctx.pages.payment_guide_url if guide else ctx.pages.legal_notice_url) if ctx.pages else ""
    snippet = _("支払方法説明ページ") if guide else _("特定商取引法に基づく表記")
    fix = _(
        "「決済選択画面の文言・掲載用HTML」の「掲載用HTML」(%(snippet)s)をページに掲載し、そのURLを「ページのURLと連絡先」"
        "に入力して「接続テストとページの確認を実行」を押してください。"
    ) % {"snippet": snippet}
    if not url:
        return Item(key, title, Status.PENDING, _("ページのURLが入力されていません。"), fix)
    phrases = kit.phrases_for_guide_page() if guide else kit.phrases_for_legal_page()
    signature = page_signature(phrases, kit.banner_link if guide else "")
    evidence = latest_evidence(ctx.shop, ctx.provider, key)
    if evidence is None or evidence.data.get("url") != url or evidence.data.get("signature") != signature:
        return Item(key, title, Status.PENDING, _("%(url)s はまだ確認していません。") % {"url": url}, fix)
    if evidence.ok:
        detail = _("%(url)s に必要な記載があります(確認 %(at)s)。") % {
            "url": url,
            "at": format_jst(evidence.created_at),
        }
        return Item(key, title, Status.OK, detail, fix)
    return Item(key, title, Status.NG, evidence.detail, fix)


def _op(kind: Action | tuple[Action, ...]) -> Exists:
    kinds = [kind] if isinstance(kind, Action) else list(kind)
    return Exists(Operation.objects.filter(payment=OuterRef("pk"), kind__in=kinds, result=OperationResult.SUCCEEDED))


def completed_test_purchase(account: ProviderAccount) -> Payment | None:
    """A payment of the account that was authorized (与信OK), captured and cancelled at the provider."""
    return (
        Payment.objects.filter(account=account, state=PaymentState.CANCELLED)
        .filter(_op((Action.AUTHORIZE, Action.CHARGE)), _op(Action.CAPTURE), _op(Action.CANCEL))
        .select_related("order")
        .order_by("-created_at")
        .first()
    )


def declined_test_purchase(account: ProviderAccount, buyer_name: str) -> Payment | None:
    """A payment of the account the provider declined (与信NG) for its own test buyer (「NPテスト」)."""
    candidates = (
        Payment.objects.filter(account=account, state=PaymentState.DECLINED)
        .select_related("order")
        .order_by("-created_at")
    )
    wanted = squash(buyer_name)
    return next((p for p in candidates[:200] if wanted in squash(p.order.customer_name)), None)


def _test_purchase_fix(ctx: _Context) -> str:
    return _(
        "「テスト取引を実行」を押すと、サンドボックスで購入(与信)・売上確定・取消と「%(ng)s」の与信NGを順に実行します。"
        "実際の決済会社のテスト環境では、決済ページでテスト購入し、受注詳細から売上確定・取消を行ってください。"
    ) % {"ng": ctx.kit.test_decline_name if ctx.kit else "NPテスト"}


def _test_purchase_item(ctx: _Context) -> Item:
    title = _("テスト取引(与信OK → 売上確定 → 取消)")
    account = ctx.test
    fix = _test_purchase_fix(ctx)
    if account is None:
        return Item("test_purchase", title, Status.PENDING, _("テスト環境のアカウントが登録されていません。"), fix)
    payment = completed_test_purchase(account)
    if payment is not None:
        detail = _("注文番号 %(no)s: 与信OK・売上確定・取消を確認しました(%(at)s)。") % {
            "no": payment.order.shop_order_no,
            "at": format_jst(payment.updated_at),
        }
        return Item("test_purchase", title, Status.OK, detail, fix)
    run = latest_evidence(ctx.shop, ctx.provider, TEST_PURCHASE, account)
    if run is not None and not run.ok:
        return Item("test_purchase", title, Status.NG, run.detail, fix)
    return Item("test_purchase", title, Status.PENDING, _("テスト取引がまだ完了していません。"), fix)


def _test_decline_item(ctx: _Context) -> Item:
    if ctx.kit is None:
        return Item(
            "test_purchase_ng", _("テスト取引(与信NG)"), Status.NA, _("この決済会社の確認用の氏名はありません。")
        )
    name = ctx.kit.test_decline_name
    title = _("テスト取引「%(name)s」(与信NG)") % {"name": name}
    account = ctx.test
    fix = _test_purchase_fix(ctx)
    if account is None:
        return Item("test_purchase_ng", title, Status.PENDING, _("テスト環境のアカウントが登録されていません。"), fix)
    payment = declined_test_purchase(account, name)
    if payment is not None:
        detail = _("注文番号 %(no)s: 「%(name)s」の取引が与信NGになることを確認しました(%(at)s)。") % {
            "no": payment.order.shop_order_no,
            "name": name,
            "at": format_jst(payment.updated_at),
        }
        return Item("test_purchase_ng", title, Status.OK, detail, fix)
    run = latest_evidence(ctx.shop, ctx.provider, TEST_PURCHASE, account)
    if run is not None and not run.ok and run.data.get("failed_step") == "decline":
        return Item("test_purchase_ng", title, Status.NG, run.detail, fix)
    detail = _("%(desk)sは確認の際に「%(name)s」の氏名でテスト取引を登録します(与信NG)。") % {
        "desk": ctx.kit.mail_addressee,
        "name": name,
    }
    return Item("test_purchase_ng", title, Status.PENDING, detail, fix)


def _production_keys_item(ctx: _Context) -> Item:
    title = _("本番環境の認証鍵")
    fix = _(
        "「外部連携アカウント管理」で%(name)sの本番環境の認証鍵を登録してください(「この環境を使用する」はオフのまま。"
        "本番への切り替えはこの画面で行います)。"
    ) % {"name": ctx.name}
    account = ctx.production
    if account is None:
        return Item("production_keys", title, Status.PENDING, _("本番環境のアカウントが登録されていません。"), fix)
    missing = _missing_credentials(account)
    if missing is None:
        return Item("production_keys", title, Status.NG, _("保存されている認証情報を復号できません。"), fix)
    if missing:
        detail = _("未設定の項目があります: %(f)s") % {"f": "、".join(missing)}
        return Item("production_keys", title, Status.NG, detail, fix)
    if account.last_test_ok_at is not None:
        detail = _("登録済み・接続テスト成功: %(at)s") % {"at": format_jst(account.last_test_ok_at)}
        return Item("production_keys", title, Status.OK, detail, fix)
    failed = latest_evidence(ctx.shop, ctx.provider, CONNECTION_TEST, account)
    if failed is not None and not failed.ok:
        detail = _("本番環境の接続テストに失敗しました(%(at)s): %(message)s") % {
            "at": format_jst(failed.created_at),
            "message": failed.detail,
        }
        return Item("production_keys", title, Status.NG, detail, _("本番環境の認証鍵を確認してください。"))
    detail = _("登録済みです。本番環境への接続テストは未実施です(切替後の本番テスト注文で最終確認します)。")
    return Item("production_keys", title, Status.OK, detail, fix)


def _live_test_item(ctx: _Context) -> Item:
    title = _("本番テスト注文と取消(本番切替後)")
    stage = Stage.AFTER_SWITCH
    fix = _(
        "本番サイトで実際に購入し、カートの管理画面と決済会社の両方で取り消してください(受注詳細の「取消」で決済会社側も"
        "取り消せます)。その注文番号を登録し、「決済会社で取消を確認」を押すと決済会社に最新の状態を問い合わせて確認します。"
    )
    account = ctx.production
    switch = (
        ProductionSwitch.objects.filter(account=account).order_by("-created_at", "-id").first() if account else None
    )
    if account is None or not account.active or switch is None:
        return Item("live_test_order", title, Status.PENDING, _("本番環境に切り替えた後に実施します。"), fix, stage)
    hooks = InboundWebhook.objects.filter(account=account, kind="payment").count()
    hook_note = (
        _(" 本番の決済Webhook: %(n)s件受信。") % {"n": hooks}
        if hooks
        else _(" 本番の決済Webhookはまだ受信していません。")
    )
    if not switch.live_test_order_no:
        return Item(
            "live_test_order",
            title,
            Status.PENDING,
            _("本番テスト注文の注文番号が未登録です。") + hook_note,
            fix,
            stage,
        )
    evidence = latest_evidence(ctx.shop, ctx.provider, LIVE_TEST_ORDER, account)
    if evidence is None or evidence.data.get("order_no") != switch.live_test_order_no:
        detail = _("注文番号 %(no)s の取消をまだ確認していません。") % {"no": switch.live_test_order_no}
        return Item("live_test_order", title, Status.PENDING, detail + hook_note, fix, stage)
    if evidence.ok:
        payment = Payment.objects.filter(pk=evidence.data.get("payment"), account=account).first()
        if payment is not None and payment.state == PaymentState.CANCELLED:
            return Item("live_test_order", title, Status.OK, evidence.detail + hook_note, fix, stage)
    return Item("live_test_order", title, Status.NG, evidence.detail + hook_note, fix, stage)


# --------------------------------------------------------------------------- entry points


def context_for(account: ProviderAccount) -> _Context:
    shop, provider = account.shop, account.provider
    test = account if account.environment == Environment.TEST else pick_account(shop, provider, Environment.TEST)
    production = (
        account
        if account.environment == Environment.PRODUCTION
        else pick_account(shop, provider, Environment.PRODUCTION)
    )
    return _Context(
        shop=shop,
        provider=provider,
        kit=kit_for(provider),
        caps=capabilities(provider),
        test=test,
        production=production,
        pages=ShopPages.objects.filter(shop=shop).first(),
        copy=copy_for(shop, provider),
    )


def readiness(account: ProviderAccount) -> Readiness:
    """The checklist of ``account``'s shop and provider, the test and production accounts side by side
    (``account`` is one of them). Reads only; see the module docstring."""
    ctx = context_for(account)
    items = (
        _keys_item(ctx),
        _webhook_item(ctx, "payment"),
        _webhook_item(ctx, "authentication"),
        _checkout_copy_item(ctx),
        _page_item(ctx, PAYMENT_GUIDE_PAGE),
        _page_item(ctx, LEGAL_NOTICE_PAGE),
        _test_purchase_item(ctx),
        _test_decline_item(ctx),
        _production_keys_item(ctx),
        _live_test_item(ctx),
    )
    return Readiness(
        shop=ctx.shop,
        provider=ctx.provider,
        account=account,
        test_account=ctx.test,
        production_account=ctx.production,
        items=items,
    )
