from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "kessai.billing"
    label = "billing"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "継続課金"

    def ready(self) -> None:
        from kessai.common import scheduler

        # Due cycles are claimed with row locks, so every worker may run this job (scale-out).
        scheduler.register(scheduler.PeriodicJob("billing-run-due", "kessai.billing.tasks:run_due_cycles", 60.0))
