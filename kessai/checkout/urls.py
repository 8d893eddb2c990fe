"""The hosted checkout, mounted at ``/pay/``."""

from django.urls import path

from kessai.checkout import views

app_name = "checkout"

urlpatterns = [
    path("<str:token>", views.pay, name="pay"),
    path("<str:token>/authenticated", views.authenticated, name="authenticated"),
    path("<str:token>/result", views.result, name="result"),
    path("<str:token>/method", views.choose_method, name="method"),
]
