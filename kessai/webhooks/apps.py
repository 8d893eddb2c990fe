from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "kessai.webhooks"
    label = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kessai.webhooks.inbound_jobs import register_inbound_jobs
        from kessai.webhooks.outbound.jobs import register_jobs

        register_jobs()
        register_inbound_jobs()
