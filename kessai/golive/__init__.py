"""本番開始チェック (go-live kit): official checkout copy per provider, 手数料 display, the readiness
checklist with the evidence behind each item, the guarded production switch and the 準備完了連絡 mail.
See docs/golive.md and docs/decisions/0002-golive-app.md."""
