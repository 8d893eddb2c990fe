from django.contrib import admin
from django.urls import include, path

from kessai.common.views import healthz, metrics_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("django-admin/", admin.site.urls),
    path("api/v1/", include("kessai.api.urls")),
    path("hooks/", include("kessai.webhooks.urls")),
    path("pay/", include("kessai.checkout.urls")),
    path("billing/", include("kessai.billing.urls")),
    path("golive/", include("kessai.golive.urls")),
    path("", include("kessai.backoffice.urls")),
]
