"""What /api/v1/openapi.json says beyond what ninja derives from the routers: the introduction,
``application/problem+json`` for every error response and the ``Idempotency-Key`` header on POSTs."""

from __future__ import annotations

from typing import Any

from kessai.api.idempotency import HEADER, KEY_PATTERN, REPLAYED_HEADER

DESCRIPTION = """
Kessai (決済) REST API v1 — 後払い・カード決済のハブ。 日本語 / English.

## 認証 / Authentication
`Authorization: Bearer sk_test_…` (テスト環境) または `sk_live_…` (本番環境)。
テストキーはテスト環境の外部連携アカウントとその決済だけを、本番キーは本番環境のものだけを扱います。
無効・失効したキーは `401`。
A test key only sees and changes test-environment provider accounts and their payments; a live key only
production ones. Unknown or revoked keys get `401`.

## 冪等性 / Idempotency
すべての POST に `Idempotency-Key` (255文字以内の半角英数記号、例: UUID) を付けられます。
同じキー・同じリクエストの再送には保存済みのステータスと本文を返します (`Idempotent-Replayed: true`)。
同じキーで内容が違う → `409 idempotency_key_reused`、最初のリクエストの処理中 → `409 idempotency_key_in_use`。
キーはショップごと、24時間保持。
Every POST accepts an `Idempotency-Key`. Same key + same request → the stored status and body
(`Idempotent-Replayed: true`); same key + different request → 409; while the first is running → 409.
Keys are scoped per shop and kept 24 hours. A `504 provider_unavailable` is stored too: the outcome of the
provider call is unknown, so do not retry with a new key — call `POST /payments/{id}/refresh`.

## エラー / Errors
すべてのエラーは RFC 9457 `application/problem+json`:
`{"type", "title", "status", "detail", "code", "errors": [{"field": "customer.zip_code", "code", "message"}]}`。
メッセージは日本語、`Accept-Language: en` で英語。
| status | code | |
|---|---|---|
| 401 | `unauthorized` | APIキーが無効 |
| 404 | `not_found` | 存在しない、または他のショップ・他の環境の ID |
| 409 | `invalid_transition` | 現在の決済状況ではできない操作 |
| 409 | `operation_in_progress`, `outcome_unknown` | 処理中 / 前回の結果が不明 (refresh してください) |
| 402 | `payment_declined` | 与信NG |
| 422 | `validation_error`, `amount_mismatch`, `unknown_payment_method`, … | 入力エラー (何も変わりません) |
| 422 | `amount_over_provider_limit`, `provider_rejected` | 決済会社の上限超過 / 決済会社が拒否 |
| 502 | `provider_auth_error` | 決済会社の認証エラー (アカウント設定を確認) |
| 504 | `provider_unavailable` | 決済会社が応答せず結果不明: 再実行せず `refresh` |

## ページング / Pagination
一覧は新しい順: `{"data": [...], "has_more", "next_cursor"}`。次のページは `?cursor=<next_cursor>`
(または `?starting_after=<最後のID>`)、`limit` は 1〜100。ID は時刻順 (ULID) なので挿入があってもずれません。
Lists are newest first; pass `next_cursor` back as `cursor` (or the last id as `starting_after`).

## Webhook の署名 / Webhook signatures
Standard Webhooks 形式。ヘッダー `webhook-id` (イベントID、再送でも同じ: 重複排除に使用)、
`webhook-timestamp` (UNIX秒)、`webhook-signature` = `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))。
key は シークレット `whsec_…` の `whsec_` より後ろを base64 デコードしたバイト列。シークレット更新後24時間は
署名がスペース区切りで2つ付きます (どちらか一致すれば有効)。5分以上古い timestamp は拒否してください。
2xx 以外は 5秒, 5分, 30分, 2時間, 5時間, 10時間, 10時間… と最長3日間再送します。
Verify any of the space-separated `v1,` signatures; reject timestamps older than 5 minutes.
Non-2xx responses are retried with exponential backoff for up to 3 days.
"""

_IDEMPOTENCY_PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": "同じ POST を安全に再送するためのキー / makes a retried POST safe (24 h, per shop)",
    "schema": {"type": "string", "pattern": KEY_PATTERN, "maxLength": 255},
}

_REPLAYED_HEADER: dict[str, Any] = {
    "description": "保存済みの応答の再送 / a stored response, replayed",
    "schema": {"type": "string", "enum": ["true"]},
}


def refine(schema: dict[str, Any]) -> dict[str, Any]:
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if int(status) >= 400 and "application/json" in content:
                    content["application/problem+json"] = content.pop("application/json")
                if method == "post" and int(status) < 400:
                    response.setdefault("headers", {})[REPLAYED_HEADER] = _REPLAYED_HEADER
            if method == "post":
                operation.setdefault("parameters", []).append(dict(_IDEMPOTENCY_PARAMETER))
    return schema
