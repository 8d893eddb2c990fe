from django.contrib.auth import views as auth_views
from django.urls import path

from kessai.backoffice import views

app_name = "backoffice"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="backoffice/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="/login/"), name="logout"),
    path("", views.home, name="home"),
]
