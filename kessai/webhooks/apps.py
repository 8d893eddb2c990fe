from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "kessai.webhooks"
    label = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"
