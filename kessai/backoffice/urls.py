from django.urls import path
from django.views.i18n import set_language

from kessai.backoffice.views import audit, auth, dashboard, errors, orders, payments, settings

app_name = "backoffice"

urlpatterns = [
    path("login/", auth.LoginView.as_view(), name="login"),
    path("login/otp/", auth.login_otp, name="login_otp"),
    path("logout/", auth.logout, name="logout"),
    path("account/2fa/", auth.otp_setup, name="otp_setup"),
    path("shop/switch/", auth.switch_shop, name="switch_shop"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("", dashboard.dashboard, name="dashboard"),
    path("orders/", orders.order_list, name="orders"),
    path("orders/columns/", orders.order_columns, name="order_columns"),
    path("orders/export.csv", orders.order_export, name="order_export"),
    path("orders/bulk/", orders.bulk_action, name="bulk"),
    path("orders/<str:order_id>/", orders.order_detail, name="order_detail"),
    path("orders/<str:order_id>/status/", orders.order_status, name="order_status"),
    path("jobs/<str:job_id>/", orders.job_detail, name="job"),
    path("jobs/<str:job_id>/progress/", orders.job_progress, name="job_progress"),
    path("payments/<str:payment_id>/capture/", payments.capture, name="payment_capture"),
    path("payments/<str:payment_id>/cancel/", payments.cancel, name="payment_cancel"),
    path("payments/<str:payment_id>/change-amount/", payments.change_amount, name="payment_change_amount"),
    path("payments/<str:payment_id>/retry/", payments.retry, name="payment_retry"),
    path("payments/<str:payment_id>/refresh/", payments.refresh, name="payment_refresh"),
    path(
        "payments/<str:payment_id>/close-unregistered/",
        payments.close_unregistered,
        name="payment_close_unregistered",
    ),
    path("errors/", errors.error_list, name="errors"),
    path("errors/download/", errors.error_download, name="error_download"),
    path("errors/delete/", errors.error_delete, name="error_delete"),
    path("errors/<str:error_id>/", errors.error_detail, name="error_detail"),
    path("settings/accounts/", settings.accounts, name="accounts"),
    path("settings/accounts/<str:provider>/", settings.account_detail, name="account_detail"),
    path("settings/payment-methods/", settings.payment_methods, name="payment_methods"),
    path("settings/payment-methods/<str:method_id>/", settings.payment_method_edit, name="payment_method_edit"),
    path("settings/fees/", settings.fees, name="fees"),
    path("settings/security/", settings.security, name="security"),
    path("audit/", audit.audit_log, name="audit"),
]
