from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    name = "kessai.backoffice"
    label = "backoffice"
    default_auto_field = "django.db.models.BigAutoField"
