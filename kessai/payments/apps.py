from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "kessai.payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"
