"""``kessai sandbox <provider> [options]``: run a provider emulator from the command line.

``main(argv)`` takes the arguments after ``sandbox`` (e.g. ``["atone", "--port", "8101"]``). Each
emulator is one :class:`Emulator` entry in :data:`EMULATORS`: a name, its own options and a builder
returning the WSGI app plus the facts printed on the start line. Adding np_atobarai, paidy or
gmo_atobarai means adding one entry.

On start one line goes to stdout, e.g.::

    atone sandbox: http://127.0.0.1:8101/ public_key=kessai-demo-atone-pk01 secret_key=kessai-demo-atone-sk01
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from wsgiref.types import WSGIApplication

from kessai.sandbox.atone import AtoneSandboxConfig, create_app
from kessai.sandbox.atone.config import (
    DEFAULT_BUYER_LIMIT,
    DEFAULT_PUBLIC_KEY,
    DEFAULT_SECRET_KEY,
    DEFAULT_WEBHOOK_RETRY_DELAYS,
    default_merchant,
)
from kessai.sandbox.gmo_atobarai import GmoSandboxConfig
from kessai.sandbox.gmo_atobarai import create_app as create_gmo_app
from kessai.sandbox.gmo_atobarai.config import DEFAULT_AUTHENTICATION_ID as GMO_AUTHENTICATION_ID
from kessai.sandbox.gmo_atobarai.config import DEFAULT_CONNECT_PASSWORD as GMO_CONNECT_PASSWORD
from kessai.sandbox.gmo_atobarai.config import DEFAULT_CREDIT_LIMIT as GMO_CREDIT_LIMIT
from kessai.sandbox.gmo_atobarai.config import DEFAULT_PORT as GMO_PORT
from kessai.sandbox.gmo_atobarai.config import DEFAULT_REVIEW_LOOKUPS as GMO_REVIEW_LOOKUPS
from kessai.sandbox.gmo_atobarai.config import DEFAULT_SHOP_CODE as GMO_SHOP_CODE
from kessai.sandbox.gmo_atobarai.config import ShopConfig as GmoShop
from kessai.sandbox.np_atobarai import NpSandboxConfig
from kessai.sandbox.np_atobarai import create_app as create_np_app
from kessai.sandbox.np_atobarai.config import (
    DEFAULT_CREDIT_LIMIT,
    DEFAULT_MERCHANT_CODE,
    DEFAULT_REVIEW_LOOKUPS,
    DEFAULT_SP_CODE,
    DEFAULT_TERMINAL_ID,
    MerchantConfig,
)
from kessai.sandbox.paidy import PaidySandboxConfig
from kessai.sandbox.paidy import create_app as create_paidy_app
from kessai.sandbox.paidy.config import DEFAULT_AUTHORIZATION_DAYS as PAIDY_AUTHORIZATION_DAYS
from kessai.sandbox.paidy.config import DEFAULT_PORT as PAIDY_PORT
from kessai.sandbox.paidy.config import DEFAULT_PUBLIC_KEY as PAIDY_PUBLIC_KEY
from kessai.sandbox.paidy.config import DEFAULT_SECRET_KEY as PAIDY_SECRET_KEY
from kessai.sandbox.paidy.config import DEFAULT_WEBHOOK_RETRY_DELAYS as PAIDY_RETRY_DELAYS
from kessai.sandbox.paidy.config import MerchantConfig as PaidyMerchant
from kessai.sandbox.server import serve_forever


@dataclass(frozen=True)
class Built:
    app: WSGIApplication
    facts: dict[str, str]  # printed as key=value after the URL
    close: Callable[[], None]


@dataclass(frozen=True)
class Emulator:
    name: str
    help: str
    default_port: int
    add_arguments: Callable[[argparse.ArgumentParser], None]
    build: Callable[[argparse.Namespace], Built]


def smtp_address(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise argparse.ArgumentTypeError("expected HOST:PORT, e.g. 127.0.0.1:1025")
    return host, int(port)


def delays(value: str) -> tuple[float, ...]:
    try:
        parsed = tuple(float(part) for part in value.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("expected seconds separated by commas, e.g. 2,10,30") from None
    if any(d < 0 for d in parsed):
        raise argparse.ArgumentTypeError("delays cannot be negative")
    return parsed


def positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError("expected a positive integer")
    return int(value)


# -- atone ---------------------------------------------------------------------------------------


def _atone_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--public-key", default=DEFAULT_PUBLIC_KEY, help="店舗公開可能鍵 (default: %(default)s)")
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY, help="店舗秘密鍵 (default: %(default)s)")
    parser.add_argument("--smtp", type=smtp_address, metavar="HOST:PORT", help="SMTP server for Webhook失敗 mail")
    parser.add_argument(
        "--buyer-limit",
        type=positive_int,
        default=DEFAULT_BUYER_LIMIT,
        help="与信NG above this (default: %(default)s)",
    )
    parser.add_argument("--payment-webhook-url", help="①決済Webhook URL")
    parser.add_argument("--authentication-webhook-url", help="②認証Webhook URL")
    parser.add_argument("--failure-email", help="③Webhook失敗通知先 (mail address)")
    parser.add_argument(
        "--webhook-retry-delays",
        type=delays,
        default=DEFAULT_WEBHOOK_RETRY_DELAYS,
        metavar="S,S,…",
        help="seconds before each webhook retry (default: 2,10,30)",
    )


def _atone_build(args: argparse.Namespace) -> Built:
    merchant = replace(
        default_merchant(),
        public_key=args.public_key,
        secret_key=args.secret_key,
        payment_webhook_url=args.payment_webhook_url,
        authentication_webhook_url=args.authentication_webhook_url,
        failure_notification_email=args.failure_email,
    )
    smtp_host, smtp_port = args.smtp if args.smtp else (None, 25)
    config = AtoneSandboxConfig(
        merchants=(merchant,),
        buyer_limit=args.buyer_limit,
        webhook_retry_delays=args.webhook_retry_delays,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
    )
    app = create_app(config)
    return Built(
        app=app,
        facts={"public_key": merchant.public_key, "secret_key": merchant.secret_key},
        close=app.close,
    )


# -- np_atobarai ---------------------------------------------------------------------------------


def seconds(value: str) -> float:
    try:
        parsed = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("expected a number of seconds") from None
    if parsed < 0:
        raise argparse.ArgumentTypeError("seconds cannot be negative")
    return parsed


def _np_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--merchant-code", default=DEFAULT_MERCHANT_CODE, help="加盟店コード (default: %(default)s)")
    parser.add_argument("--sp-code", default=DEFAULT_SP_CODE, help="SPコード (default: %(default)s)")
    parser.add_argument("--terminal-id", default=DEFAULT_TERMINAL_ID, help="端末ID (default: %(default)s)")
    parser.add_argument(
        "--credit-limit",
        type=positive_int,
        default=DEFAULT_CREDIT_LIMIT,
        help="与信NG (NG001) above this amount (default: %(default)s)",
    )
    parser.add_argument(
        "--review-lookups",
        type=positive_int,
        default=DEFAULT_REVIEW_LOOKUPS,
        help="a 審査中 (40) is resolved on this authorizations/find lookup (default: %(default)s)",
    )
    parser.add_argument(
        "--review-seconds", type=seconds, default=None, help="… or this many seconds after screening (default: off)"
    )
    parser.add_argument(
        "--hold-expiry-seconds",
        type=seconds,
        default=None,
        help="a 保留 (10) older than this becomes NG999 on the next lookup (default: off)",
    )


def _np_build(args: argparse.Namespace) -> Built:
    merchant = MerchantConfig(merchant_code=args.merchant_code, sp_code=args.sp_code, terminal_id=args.terminal_id)
    config = NpSandboxConfig(
        merchants=(merchant,),
        credit_limit=args.credit_limit,
        review_resolve_lookups=args.review_lookups,
        review_resolve_seconds=args.review_seconds,
        hold_expires_seconds=args.hold_expiry_seconds,
    )
    app = create_np_app(config)
    return Built(
        app=app,
        facts={
            "merchant_code": merchant.merchant_code,
            "sp_code": merchant.sp_code,
            "terminal_id": merchant.terminal_id,
        },
        close=app.close,
    )


# -- paidy ---------------------------------------------------------------------------------------


def _paidy_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--public-key", default=PAIDY_PUBLIC_KEY, help="パブリックキー (default: %(default)s)")
    parser.add_argument("--secret-key", default=PAIDY_SECRET_KEY, help="シークレットキー (default: %(default)s)")
    parser.add_argument("--webhook-url", help="the dashboard's notification URL (payment and token events)")
    parser.add_argument(
        "--authorization-days",
        type=positive_int,
        default=PAIDY_AUTHORIZATION_DAYS,
        help="capture window: expires_at = created_at + this many days (default: %(default)s)",
    )
    parser.add_argument(
        "--webhook-retry-delays",
        type=delays,
        default=PAIDY_RETRY_DELAYS,
        metavar="S,S,…",
        help="seconds before each webhook retry (default: 2,10,30)",
    )


def _paidy_build(args: argparse.Namespace) -> Built:
    merchant = PaidyMerchant(
        public_key=args.public_key,
        secret_key=args.secret_key,
        webhook_url=args.webhook_url,
        authorization_days=args.authorization_days,
    )
    app = create_paidy_app(PaidySandboxConfig(merchants=(merchant,), webhook_retry_delays=args.webhook_retry_delays))
    return Built(
        app=app,
        facts={"public_key": merchant.public_key, "secret_key": merchant.secret_key},
        close=app.close,
    )


# -- gmo_atobarai --------------------------------------------------------------------------------


def _gmo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--authentication-id", default=GMO_AUTHENTICATION_ID, help="認証ID (default: %(default)s)")
    parser.add_argument("--shop-code", default=GMO_SHOP_CODE, help="加盟店コード (default: %(default)s)")
    parser.add_argument(
        "--connect-password", default=GMO_CONNECT_PASSWORD, help="接続パスワード (default: %(default)s)"
    )
    parser.add_argument(
        "--credit-limit",
        type=positive_int,
        default=GMO_CREDIT_LIMIT,
        help="与信NG above this cumulative amount per buyer (default: %(default)s)",
    )
    parser.add_argument(
        "--review-lookups",
        type=positive_int,
        default=GMO_REVIEW_LOOKUPS,
        help="a 審査中 is resolved on this getauthor.do lookup (default: %(default)s)",
    )


def _gmo_build(args: argparse.Namespace) -> Built:
    shop = GmoShop(args.authentication_id, args.shop_code, args.connect_password)
    config = GmoSandboxConfig(shops=(shop,), credit_limit=args.credit_limit, review_resolve_lookups=args.review_lookups)
    app = create_gmo_app(config)
    return Built(
        app=app,
        facts={
            "authentication_id": shop.authentication_id,
            "shop_code": shop.shop_code,
            "connect_password": shop.connect_password,
        },
        close=app.close,
    )


EMULATORS: dict[str, Emulator] = {
    "atone": Emulator(
        name="atone",
        help="atone 翌月払い: REST /v1/transactions, widget /v1/atone.js, control /_sandbox/",
        default_port=8101,
        add_arguments=_atone_arguments,
        build=_atone_build,
    ),
    "np_atobarai": Emulator(
        name="np_atobarai",
        help="NP後払い: REST /v1/transactions, /v1/shipments, /v1/authorizations/find …, control /_sandbox/",
        default_port=8102,
        add_arguments=_np_arguments,
        build=_np_build,
    ),
    "paidy": Emulator(
        name="paidy",
        help="Paidy: REST /payments, /tokens, Checkout script /apps/, webhooks, control /_sandbox/",
        default_port=PAIDY_PORT,
        add_arguments=_paidy_arguments,
        build=_paidy_build,
    ),
    "gmo_atobarai": Emulator(
        name="gmo_atobarai",
        help="GMO後払い: XML /auto/transaction.do, getauthor.do, pdrequest.do …, control /_sandbox/",
        default_port=GMO_PORT,
        add_arguments=_gmo_arguments,
        build=_gmo_build,
    ),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kessai sandbox", description="Run a provider emulator locally.")
    subparsers = parser.add_subparsers(dest="provider", metavar="PROVIDER", required=True)
    for emulator in EMULATORS.values():
        sub = subparsers.add_parser(emulator.name, help=emulator.help, description=emulator.help)
        sub.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
        sub.add_argument("--port", type=int, default=emulator.default_port, help="default: %(default)s")
        sub.add_argument("--verbose", action="store_true", help="log every request")
        emulator.add_arguments(sub)
    return parser


def start_line(name: str, url: str, facts: dict[str, str]) -> str:
    return " ".join([f"{name} sandbox: {url}/", *(f"{key}={value}" for key, value in facts.items())])


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse has printed the message
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    emulator = EMULATORS[args.provider]
    built = emulator.build(args)

    def announce(url: str) -> None:
        print(start_line(emulator.name, url, built.facts), flush=True)

    try:
        serve_forever(built.app, host=args.host, port=args.port, ready=announce)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"{emulator.name} sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    finally:
        built.close()
    return 0
