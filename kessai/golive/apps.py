from django.apps import AppConfig


class GoliveConfig(AppConfig):
    name = "kessai.golive"
    label = "golive"
    verbose_name = "本番開始チェック"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The production switch goes through the checklist: shops.services asks this gate before a
        # production account replaces a provider's test account (docs/decisions/0002-golive-app.md).
        from kessai.golive.services import production_gate
        from kessai.shops.services import register_production_gate

        register_production_gate(production_gate)
