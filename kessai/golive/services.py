"""Go-live actions: each one produces evidence the checklist (:mod:`.checks`) reads, and is audited.

- :func:`run_connection_test` — a real ``test_connection()`` against the provider (or its emulator);
- :func:`check_pages` — fetch the shop's 支払方法説明ページ / 特定商取引法 page and look for the copy;
- :func:`send_test_webhooks` — (sandbox test accounts) register the hub's webhook URLs at the emulator and
  make it send a 認証Webhook and a 決済Webhook;
- :func:`run_test_purchase` — (sandbox test accounts) a scripted purchase through the real payment services:
  token, charge, capture, cancel, then the 「NPテスト」 buyer, expecting 与信NG;
- :func:`switch_to_production` — owners only; refused while items are open unless a typed reason is given;
- :func:`record_live_test_order` / :func:`verify_live_test_order` — the 本番テスト注文 after the switch.

Money moves only through ``kessai.payments.services`` (and only on test accounts, except the refresh of
the 本番テスト注文, which is a query).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kessai.backoffice.services import Actor, record
from kessai.common.jst import format_jst
from kessai.common.text import normalize
from kessai.golive import checks, crawler
from kessai.golive.checks import Readiness, readiness
from kessai.golive.kits import CheckoutKit, kit_for, name_missing
from kessai.golive.models import Evidence, ProductionSwitch, ShopPages
from kessai.golive.sandbox import Sandbox, SandboxError, sandbox_for
from kessai.golive.text import read_html
from kessai.payments import connection
from kessai.payments import orders as order_service
from kessai.payments import services as payments
from kessai.payments.models import Order, Payment
from kessai.payments.state import STATE_LABELS, InvalidTransition, PaymentState
from kessai.providers.base import ProviderDeclined, ProviderError
from kessai.shops import services as shop_services
from kessai.shops.errors import ValidationFailed
from kessai.shops.models import Environment, Membership, PaymentMethod, ProviderAccount, Role, Shop

TEST_PHONE = "090-1234-5678"
TEST_ITEM = {"sku": "KESSAI-TEST", "name": "テスト商品(本番開始チェック)", "unit_price": 1000, "quantity": 1}
MIN_OVERRIDE_REASON = 10
# Which credential holds the key an emulator knows a store by.
PUBLIC_KEY_FIELD = {"atone": "public_key"}


@dataclass(frozen=True)
class CliUser:
    """The acting "user" of ``kessai golive`` (audited by this name, never authenticated)."""

    username: str = "cli"
    is_authenticated: bool = False


def cli_actor() -> Actor:
    return Actor(CliUser())


def _evidence(
    shop: Shop,
    provider: str,
    key: str,
    *,
    ok: bool,
    detail: str,
    actor: Actor,
    account: ProviderAccount | None = None,
    data: dict[str, Any] | None = None,
) -> Evidence:
    return Evidence.objects.create(
        shop=shop,
        provider=provider,
        account=account,
        key=key,
        ok=ok,
        detail=detail[:1000],
        data=data or {},
        actor=actor.username[:150],
    )


# --------------------------------------------------------------------------- settings of the shop's pages


def pages_for(shop: Shop) -> ShopPages:
    return ShopPages.objects.filter(shop=shop).first() or ShopPages(shop=shop)


def _pages_audit(pages: ShopPages) -> dict[str, str]:
    fields = ("payment_guide_url", "legal_notice_url", "company", "site_url", "contact_name")
    return {f: str(getattr(pages, f)) for f in fields}


def save_pages(
    actor: Actor,
    shop: Shop,
    *,
    payment_guide_url: str,
    legal_notice_url: str,
    company: str = "",
    site_url: str = "",
    contact_name: str = "",
) -> ShopPages:
    errors: dict[str, str] = {}
    urls = {
        "payment_guide_url": (payment_guide_url.strip(), _("支払方法説明ページのURL")),
        "legal_notice_url": (legal_notice_url.strip(), _("特定商取引法に基づく表記のURL")),
        "site_url": (site_url.strip(), _("サイトURL")),
    }
    for field, (value, label) in urls.items():
        if value and not value.startswith(("http://", "https://")):
            errors[field] = _("%(label)sは http:// または https:// で始まるURLで入力してください。") % {"label": label}
        elif len(value) > 500:
            errors[field] = _("%(label)sは500文字以内で入力してください。") % {"label": label}
    company, contact_name = normalize(company).strip(), normalize(contact_name).strip()
    if len(company) > 200:
        errors["company"] = _("会社名は200文字以内で入力してください。")
    if len(contact_name) > 100:
        errors["contact_name"] = _("ご担当者名は100文字以内で入力してください。")
    if errors:
        raise ValidationFailed(errors)
    with transaction.atomic():
        pages = ShopPages.objects.select_for_update().filter(shop=shop).first()
        before = _pages_audit(pages) if pages else None
        pages = pages or ShopPages(shop=shop)
        pages.payment_guide_url = urls["payment_guide_url"][0]
        pages.legal_notice_url = urls["legal_notice_url"][0]
        pages.site_url = urls["site_url"][0]
        pages.company = company
        pages.contact_name = contact_name
        pages.save()
        record(
            actor,
            shop,
            "golive.pages.save",
            target_type="shop",
            target_id=shop.pk,
            before=before,
            after=_pages_audit(pages),
        )
    return pages


# --------------------------------------------------------------------------- 接続テスト


def run_connection_test(actor: Actor, account: ProviderAccount) -> Evidence:
    """A real ``test_connection()`` (the account's ``last_test_ok_at`` records a success)."""
    check = connection.run_connection_test(account)
    evidence = _evidence(
        account.shop,
        account.provider,
        checks.CONNECTION_TEST,
        ok=check.ok,
        detail=check.message,
        actor=actor,
        account=account,
        data={"environment": account.environment},
    )
    record(
        actor,
        account.shop,
        "golive.connection_test",
        target_type="provider_account",
        target_id=account.pk,
        after={"ok": check.ok, "message": check.message},
    )
    return evidence


# --------------------------------------------------------------------------- the shop's pages


@dataclass(frozen=True)
class PageResult:
    ok: bool
    detail: str
    missing: list[str]
    final_url: str = ""
    encoding: str = ""


def check_page(url: str, kit: CheckoutKit, *, guide: bool) -> PageResult:
    """Fetch one page and look for the copy the guide asks for (names every missing phrase)."""
    try:
        fetched = crawler.fetch(url)
    except crawler.FetchError as exc:
        return PageResult(False, exc.message, [])
    page = read_html(fetched.html)
    phrases = kit.phrases_for_guide_page() if guide else kit.phrases_for_legal_page()
    missing = name_missing(page.missing(phrases), phrases)
    if guide and not page.banner_links(kit.banner_link):
        missing.append(_("バナー(%(url)s へのリンクを付けた画像)") % {"url": kit.banner_link})
    if missing:
        detail = _("%(url)s に次の記載が見つかりません: %(missing)s") % {"url": url, "missing": "、".join(missing)}
        return PageResult(False, detail, missing, fetched.url, fetched.encoding)
    return PageResult(True, _("必要な記載があります。"), [], fetched.url, fetched.encoding)


def check_pages(actor: Actor, shop: Shop, provider: str) -> list[Evidence]:
    """Check the pages whose URL the shop entered. No kit (no official copy) → nothing to check."""
    kit = kit_for(provider)
    pages = ShopPages.objects.filter(shop=shop).first()
    if kit is None or pages is None:
        return []
    found = []
    for key, url, guide in (
        (checks.PAYMENT_GUIDE_PAGE, pages.payment_guide_url, True),
        (checks.LEGAL_NOTICE_PAGE, pages.legal_notice_url, False),
    ):
        if not url:
            continue
        result = check_page(url, kit, guide=guide)
        phrases = kit.phrases_for_guide_page() if guide else kit.phrases_for_legal_page()
        found.append(
            _evidence(
                shop,
                provider,
                key,
                ok=result.ok,
                detail=result.detail,
                actor=actor,
                data={
                    "url": url,
                    "final_url": result.final_url,
                    "encoding": result.encoding,
                    "missing": result.missing,
                    "signature": checks.page_signature(phrases, kit.banner_link if guide else ""),
                },
            )
        )
    record(
        actor,
        shop,
        "golive.pages.check",
        target_type="shop",
        target_id=shop.pk,
        after={e.key: {"ok": e.ok, "detail": e.detail} for e in found},
    )
    return found


def run_checks(actor: Actor, account: ProviderAccount) -> Readiness:
    """「チェックを実行」: the account's 接続テスト, the page checks and (sandbox test accounts) the emulator's
    log of the test webhooks, then the checklist."""
    run_connection_test(actor, account)
    check_pages(actor, account.shop, account.provider)
    if account.environment == Environment.TEST:
        refresh_test_webhooks(actor, account)
    return readiness(account)


# --------------------------------------------------------------------------- the emulator (test accounts)


def _sandbox(account: ProviderAccount) -> tuple[Sandbox, str]:
    sandbox = sandbox_for(account)
    key_field = PUBLIC_KEY_FIELD.get(account.provider, "")
    if sandbox is None or not key_field:
        raise ValidationFailed(
            {
                "account": _(
                    "この操作は、サンドボックス(ローカルのエミュレーター)に接続したテスト環境のアカウントでのみ実行できます。"
                )
            },
            code="not_a_sandbox",
        )
    public_key = shop_services.masked_credentials(account).get(key_field, "")
    return sandbox, public_key


def _active_method(account: ProviderAccount) -> PaymentMethod:
    method = PaymentMethod.objects.filter(provider_account=account, active=True).order_by("sort", "created_at").first()
    if method is None or not account.active:
        raise ValidationFailed(
            {
                "payment_method": _(
                    "このアカウントを使う「使用」中の支払方法がありません(アカウントも「この環境を使用する」にしてください)。"
                )
            },
            code="no_payment_method",
        )
    return method


def _test_order(shop: Shop, label: str, customer_name: str) -> Order:
    stamp = timezone.localtime().strftime("%Y%m%d%H%M%S")
    return order_service.create_order(
        shop,
        {
            "shop_order_no": f"GOLIVE-{stamp}-{secrets.token_hex(2).upper()}-{label}",
            "amount": TEST_ITEM["unit_price"],
            "items": [dict(TEST_ITEM)],
            "customer": {
                "name": customer_name,
                "name_kana": "テスト",
                "email": shop.admin_email or "golive-test@example.jp",
                "phone": TEST_PHONE,
                "zip_code": "107-0052",
                "address": "東京都港区赤坂1-2-3",
            },
        },
    )


def _decline_purchase(actor: Actor, method: PaymentMethod, token: str, buyer: str) -> Payment:
    """The provider's own check (「NPテスト」): must answer 与信NG. Returns the declined payment."""
    order = _test_order(method.shop, "NG", buyer)
    try:
        started = payments.start_payment(order, method_ref=method.pk, actor=actor.label, authentication_token=token)
    except ProviderDeclined:
        payment = Payment.objects.filter(order=order).order_by("-created_at").first()
        if payment is not None and payment.state == PaymentState.DECLINED:
            return payment
        raise
    raise ProviderError(
        _("「%(name)s」の取引が与信NGになりませんでした(状態: %(state)s)。")
        % {"name": buyer, "state": STATE_LABELS[started.payment.state_enum]},
        code="golive:decline_expected",
    )


def _deliveries(
    sandbox: Sandbox, urls: dict[str, str], *, ids: dict[str, Any] | None = None, seen: set[Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The emulator's newest delivery of each kind to this account's URLs (with ``ids``, or not ``seen``)."""
    wanted = {url: kind for kind, url in urls.items()}
    summary: dict[str, dict[str, Any]] = {}
    for delivery in sandbox.deliveries():
        kind = wanted.get(str(delivery.get("url", "")))
        if kind is None:
            continue
        if ids is not None and delivery.get("id") != ids.get(kind):
            continue
        if seen is not None and delivery.get("id") in seen:
            continue
        attempts = delivery.get("attempts") or []
        last = attempts[-1] if attempts and isinstance(attempts[-1], dict) else {}
        summary[kind] = {
            "id": delivery.get("id"),
            "url": delivery.get("url"),
            "status": delivery.get("status"),
            "status_code": last.get("status_code"),
            "error": last.get("error") or "",
        }
    return summary


def _webhook_evidence(
    actor: Actor, account: ProviderAccount, deliveries: dict[str, dict[str, Any]], **data: Any
) -> Evidence:
    delivered = sorted(k for k, d in deliveries.items() if d["status"] == "delivered")
    result = "、".join(
        f"{kind}: {d['status']}" + (f" ({d['status_code'] or d['error']})" if d["status_code"] or d["error"] else "")
        for kind, d in sorted(deliveries.items())
    )
    detail = _("サンドボックスの送信記録: %(result)s") % {"result": result or _("なし")}
    return _evidence(
        account.shop,
        account.provider,
        checks.TEST_WEBHOOKS,
        ok=delivered == ["authentication", "payment"],
        detail=detail,
        actor=actor,
        account=account,
        data={**data, "urls": shop_services.webhook_urls(account), "deliveries": deliveries},
    )


def send_test_webhooks(actor: Actor, account: ProviderAccount) -> Evidence:
    """「テストWebhookを送信」(sandbox test accounts): register this account's webhook URLs at the emulator
    (as staff do in the provider's merchant console), log a test buyer in (→ 認証Webhook) and register a
    「NPテスト」 transaction through the payment services (→ 決済Webhook; 与信NG, so nothing is held).

    The emulator delivers (and retries) on its own schedule; nothing here waits for it. The checklist turns
    green when the hub has stored the webhooks; :func:`refresh_test_webhooks` (run by 「チェックを実行」)
    records what the emulator says of its deliveries, so a URL the emulator cannot reach shows as NG."""
    sandbox, public_key = _sandbox(account)
    kit = kit_for(account.provider)
    method = _active_method(account)
    urls = shop_services.webhook_urls(account)
    try:
        seen = {d.get("id") for d in sandbox.deliveries()}
        sandbox.set_webhooks(public_key, payment_url=urls["payment"], authentication_url=urls["authentication"])
        token = sandbox.authenticate(public_key, TEST_PHONE)
        declined = _decline_purchase(actor, method, token, kit.test_decline_name if kit else "NPテスト")
        evidence = _webhook_evidence(actor, account, _deliveries(sandbox, urls, seen=seen), payment=declined.pk)
    except (SandboxError, ProviderError, ValidationFailed) as exc:
        message = " ".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else exc.message
        evidence = _evidence(
            account.shop, account.provider, checks.TEST_WEBHOOKS, ok=False, detail=message, actor=actor, account=account
        )
    record(
        actor,
        account.shop,
        "golive.test_webhooks",
        target_type="provider_account",
        target_id=account.pk,
        after={"ok": evidence.ok, "detail": evidence.detail},
    )
    return evidence


def refresh_test_webhooks(actor: Actor, account: ProviderAccount) -> Evidence | None:
    """Read the emulator's log for the deliveries of the last 「テストWebhookを送信」 that were still pending."""
    last = checks.latest_evidence(account.shop, account.provider, checks.TEST_WEBHOOKS, account)
    deliveries = (last.data.get("deliveries") or {}) if last is not None else {}
    if last is None or not deliveries or all(d.get("status") != "pending" for d in deliveries.values()):
        return None
    sandbox = sandbox_for(account)
    if sandbox is None:
        return None
    try:
        now = _deliveries(sandbox, last.data.get("urls") or {}, ids={k: d.get("id") for k, d in deliveries.items()})
    except SandboxError:
        return None
    return _webhook_evidence(actor, account, now, payment=last.data.get("payment"))


@dataclass
class _Run:
    steps: list[dict[str, Any]]

    def step(self, name: str, detail: str) -> None:
        self.steps.append({"step": name, "ok": True, "detail": detail})


def run_test_purchase(actor: Actor, account: ProviderAccount) -> Evidence:
    """「テスト取引を実行」(sandbox test accounts): through the real services, against the emulator — a buyer
    token (``/_sandbox/authenticate``), an order, ``start_payment`` with the token (``charge_with_token``:
    与信OK), ``capture`` (売上確定), ``cancel`` (取消); then the 「NPテスト」 buyer, which must be 与信NG."""
    sandbox, public_key = _sandbox(account)
    kit = kit_for(account.provider)
    method = _active_method(account)
    run = _Run(steps=[])
    data: dict[str, Any] = {"steps": run.steps}
    step = "token"
    try:
        token = sandbox.authenticate(public_key, TEST_PHONE)
        run.step(step, _("購入者トークンを取得しました。"))
        step = "authorize"
        order = _test_order(account.shop, "OK", "決済 テスト")
        started = payments.start_payment(order, method_ref=method.pk, actor=actor.label, authentication_token=token)
        payment = started.payment
        data["ok_payment"] = payment.pk
        if payment.state not in (PaymentState.AUTHORIZED, PaymentState.CAPTURED):
            raise ProviderError(
                _("与信OKになりませんでした(状態: %(state)s)。") % {"state": STATE_LABELS[payment.state_enum]},
                code="golive:authorize",
            )
        run.step(
            step,
            _("注文番号 %(no)s: 与信OK(%(amount)s円)") % {"no": order.shop_order_no, "amount": f"{payment.amount:,}"},
        )
        step = "capture"
        if payment.state == PaymentState.AUTHORIZED:
            payment = payments.capture(payment, actor=actor.label)
        run.step(step, _("売上確定: %(state)s") % {"state": STATE_LABELS[payment.state_enum]})
        step = "cancel"
        payment = payments.cancel(payment, actor=actor.label)
        run.step(step, _("取消: %(state)s") % {"state": STATE_LABELS[payment.state_enum]})
        step = "decline"
        declined = _decline_purchase(actor, method, token, kit.test_decline_name if kit else "NPテスト")
        data["ng_payment"] = declined.pk
        run.step(
            step,
            _("注文番号 %(no)s: 与信NG(%(reason)s)")
            % {"no": declined.order.shop_order_no, "reason": declined.decline_message},
        )
    except (SandboxError, ProviderError, ValidationFailed, InvalidTransition) as exc:
        message = " ".join(exc.errors.values()) if isinstance(exc, ValidationFailed) else exc.message
        run.steps.append({"step": step, "ok": False, "detail": message})
        data["failed_step"] = step
        labels = {
            "token": _("購入者トークンの取得"),
            "authorize": _("与信"),
            "capture": _("売上確定"),
            "cancel": _("取消"),
            "decline": _("与信NGの確認"),
        }
        detail = _("テスト取引の「%(step)s」で失敗しました: %(message)s") % {"step": labels[step], "message": message}
        ok = False
    else:
        detail = _("テスト取引が完了しました: ") + " / ".join(s["detail"] for s in run.steps)
        ok = True
    evidence = _evidence(
        account.shop,
        account.provider,
        checks.TEST_PURCHASE,
        ok=ok,
        detail=detail,
        actor=actor,
        account=account,
        data=data,
    )
    record(
        actor,
        account.shop,
        "golive.test_purchase",
        target_type="provider_account",
        target_id=account.pk,
        after={"ok": ok, "steps": run.steps},
    )
    return evidence


# --------------------------------------------------------------------------- 本番切替


def production_gate(account: ProviderAccount) -> None:
    """Registered with ``shops.services``: a production account replaces the test account only through
    :func:`switch_to_production` (which records the switch first)."""
    if not ProductionSwitch.objects.filter(account_id=account.pk).exists():
        message = _(
            "本番環境への切り替えは「本番開始チェック」で行ってください。すべての確認項目が完了すると、オーナーが切り替えられます。"
        )
        raise ValidationFailed({"active": message}, code="golive_required", field_codes={"active": "golive_required"})


def is_owner(actor: Actor, shop: Shop) -> bool:
    user_id = getattr(actor.user, "pk", None)
    return user_id is not None and Membership.objects.filter(user_id=user_id, shop=shop, role=Role.OWNER).exists()


def switch_to_production(actor: Actor, production: ProviderAccount, *, override_reason: str = "") -> ProductionSwitch:
    """本番切替: make the production account the active one for its provider and move the provider's payment
    methods to it. Refused until every item before the switch passes; an owner may override with a typed
    reason (at least 10 characters), recorded with the open items on the switch and in the 操作ログ."""
    shop = production.shop
    if not is_owner(actor, shop):
        raise ValidationFailed(
            {"role": _("本番環境への切り替えはショップのオーナーのみが行えます。")}, code="forbidden"
        )
    if production.environment != Environment.PRODUCTION:
        raise ValidationFailed({"account": _("本番環境のアカウントを指定してください。")}, code="not_production")
    if production.active:
        raise ValidationFailed({"account": _("既に本番環境を使用しています。")}, code="already_live")
    report = readiness(production)
    blocking = report.blocking
    reason = normalize(override_reason).strip()
    if blocking and not reason:
        titles = "、".join(item.title for item in blocking)
        raise ValidationFailed(
            {"items": _("確認が完了していない項目があります: %(items)s") % {"items": titles}}, code="golive_not_ready"
        )
    if blocking and len(reason) < MIN_OVERRIDE_REASON:
        raise ValidationFailed(
            {
                "override_reason": _("確認未了のまま切り替える理由を%(n)s文字以上で入力してください。")
                % {"n": MIN_OVERRIDE_REASON}
            },
            code="override_reason_required",
        )
    open_items = [{"key": i.key, "title": i.title, "status": i.status.value, "detail": i.detail} for i in blocking]
    with transaction.atomic():
        locked = ProviderAccount.objects.select_for_update().get(pk=production.pk)
        previous = (
            ProviderAccount.objects.filter(shop=shop, provider=production.provider, active=True)
            .exclude(pk=production.pk)
            .first()
        )
        switch = ProductionSwitch.objects.create(
            shop=shop,
            provider=production.provider,
            account=locked,
            from_account=previous,
            username=actor.username[:150],
            overridden=bool(blocking),
            override_reason=reason if blocking else "",
            open_items=open_items,
        )
        shop_services.update_provider_account(locked, active=True)
        moved = shop_services.move_payment_methods(locked)
        record(
            actor,
            shop,
            "golive.switch_override" if blocking else "golive.switch",
            target_type="provider_account",
            target_id=locked.pk,
            before={"active_account": previous.pk if previous else None},
            after={
                "active_account": locked.pk,
                "payment_methods_moved": moved,
                "override_reason": switch.override_reason,
                "open_items": open_items,
            },
        )
    return switch


def latest_switch(account: ProviderAccount) -> ProductionSwitch | None:
    return ProductionSwitch.objects.filter(account=account).order_by("-created_at", "-id").first()


def _live_switch(account: ProviderAccount) -> ProductionSwitch:
    switch = latest_switch(account)
    if switch is None or not account.active or account.environment != Environment.PRODUCTION:
        raise ValidationFailed({"account": _("本番環境に切り替えた後に登録できます。")}, code="not_live")
    return switch


def record_live_test_order(actor: Actor, account: ProviderAccount, order_no: str) -> ProductionSwitch:
    """Staff name the 本番テスト注文 (an order of the shop paid with the production account)."""
    switch = _live_switch(account)
    number = normalize(order_no).strip()
    if not number:
        raise ValidationFailed({"order_no": _("注文番号を入力してください。")})
    if not Order.objects.filter(shop=account.shop, shop_order_no=number).exists():
        raise ValidationFailed({"order_no": _("注文番号「%(no)s」の受注が見つかりません。") % {"no": number}})
    before = {"live_test_order_no": switch.live_test_order_no}
    switch.live_test_order_no = number
    switch.live_test_recorded_by = actor.username[:150]
    switch.save(update_fields=["live_test_order_no", "live_test_recorded_by"])
    record(
        actor,
        account.shop,
        "golive.live_test_order",
        target_type="provider_account",
        target_id=account.pk,
        before=before,
        after={"live_test_order_no": number},
    )
    return switch


def verify_live_test_order(actor: Actor, account: ProviderAccount) -> Evidence:
    """「決済会社で取消を確認」: ask the provider (``services.refresh``) whether the 本番テスト注文 is cancelled."""
    switch = _live_switch(account)
    number = switch.live_test_order_no
    if not number:
        raise ValidationFailed({"order_no": _("本番テスト注文の注文番号を登録してください。")})
    payment = (
        Payment.objects.filter(shop=account.shop, order__shop_order_no=number, account=account)
        .exclude(provider_ref="")
        .order_by("-created_at")
        .first()
    )
    data: dict[str, Any] = {"order_no": number}
    if payment is None:
        ok = False
        detail = _("注文番号 %(no)s に本番環境の決済がありません。") % {"no": number}
    else:
        data["payment"] = payment.pk
        try:
            payment = payments.refresh(payment, actor=actor.label)
        except (ProviderError, InvalidTransition) as exc:
            ok = False
            detail = _("決済会社に状態を問い合わせられませんでした: %(message)s") % {"message": exc.message}
        else:
            data.update({"provider_ref": payment.provider_ref, "state": payment.state})
            ok = payment.state == PaymentState.CANCELLED
            values = {
                "no": number,
                "ref": payment.provider_ref,
                "state": STATE_LABELS[payment.state_enum],
                "at": format_jst(timezone.now()),
            }
            if ok:
                detail = _("注文番号 %(no)s(%(ref)s)が決済会社で取消済みであることを確認しました(%(at)s)。") % values
            else:
                detail = (
                    _("注文番号 %(no)s(%(ref)s)は決済会社でまだ取消されていません(現在: %(state)s)。")
                    + _("受注詳細から取消してください。")
                ) % values
    evidence = _evidence(
        account.shop,
        account.provider,
        checks.LIVE_TEST_ORDER,
        ok=ok,
        detail=detail,
        actor=actor,
        account=account,
        data=data,
    )
    record(
        actor,
        account.shop,
        "golive.live_test_verify",
        target_type="provider_account",
        target_id=account.pk,
        after={"ok": ok, "detail": detail},
    )
    return evidence
