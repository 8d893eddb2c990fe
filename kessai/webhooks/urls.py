"""Inbound provider webhook URLs, mounted at ``/hooks/`` (``shops.services.webhook_urls`` builds them)."""

from django.urls import path

from kessai.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("<str:provider>/<str:account_id>/<str:kind>", views.provider_webhook, name="inbound"),
]
