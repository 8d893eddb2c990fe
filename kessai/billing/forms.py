"""Forms of the billing screens: input is validated by the services; these only parse it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from kessai.billing.models import MailKind, SubscriptionStatus


class SubscriptionForm(forms.Form):
    """継続課金会員情報: 次回契約更新日, 次回課金日, 決済金額, 契約."""

    next_renewal_on = forms.DateField(
        label=_("次回契約更新日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    next_billing_on = forms.DateField(
        label=_("次回課金日"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    amount = forms.IntegerField(label=_("決済金額"), min_value=1, max_value=9_999_999)
    status = forms.ChoiceField(label=_("契約"), choices=SubscriptionStatus.choices)


class SettingsForm(forms.Form):
    auto_retry = forms.BooleanField(label=_("決済エラー時に自動で再決済する"), required=False)
    retry_days = forms.CharField(
        label=_("再決済日(課金日からの日数、カンマ区切り)"), required=False, initial="3,7", max_length=40
    )
    admin_email = forms.EmailField(label=_("結果通知メールの送信先"), required=False)

    def clean_retry_days(self) -> list[int]:
        text = self.cleaned_data.get("retry_days") or ""
        parts = [p.strip() for p in text.replace("、", ",").split(",") if p.strip()]
        if not all(p.isdigit() and 1 <= int(p) <= 60 for p in parts):
            raise forms.ValidationError(_("再決済日は1〜60の数字をカンマ区切りで入力してください。"))
        return sorted({int(p) for p in parts})


class MailTemplateForm(forms.Form):
    kind = forms.ChoiceField(choices=MailKind.choices, widget=forms.HiddenInput)
    subject = forms.CharField(label=_("件名"), max_length=200)
    body = forms.CharField(label=_("本文"), widget=forms.Textarea(attrs={"rows": 14, "cols": 90}))
    reset = forms.BooleanField(required=False, widget=forms.HiddenInput)
