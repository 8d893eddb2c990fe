from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kessai.api"
    label = "api"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kessai.common.scheduler import PeriodicJob, register

        register(PeriodicJob("idempotency-keys-purge", "kessai.api.idempotency:purge_expired", 3600.0))
