from django.urls import path

from kessai.billing import views

app_name = "billing"

urlpatterns = [
    path("", views.subscription_list, name="list"),
    path("settings/", views.billing_settings, name="settings"),
    path("cycles/<str:cycle_id>/retry/", views.retry, name="retry"),
    path("<str:subscription_id>/", views.subscription_detail, name="detail"),
    path("<str:subscription_id>/charge/", views.charge_now, name="charge"),
]
