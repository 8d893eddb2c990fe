"""本番開始チェック, mounted at ``/golive/``."""

from django.urls import path

from kessai.golive import views

app_name = "golive"

urlpatterns = [
    path("", views.index, name="index"),
    path("agency/", views.agency, name="agency"),
    path("agency/open/", views.agency_open, name="agency_open"),
    path("pages/", views.pages_edit, name="pages"),
    path("copy/<str:provider>/", views.copy_edit, name="copy"),
    path("accounts/<str:account_id>/", views.checklist, name="checklist"),
    path("accounts/<str:account_id>/switch/", views.switch, name="switch"),
    path("accounts/<str:account_id>/mail/", views.readiness_mail, name="mail"),
    path("accounts/<str:account_id>/<slug:name>/", views.action, name="action"),
]
