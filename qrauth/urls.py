"""URLs of qrauth: ``path("qr/", include("qrauth.urls"))``.

The names are those of django-qrauth 0.1.x, so its templates keep working.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.qr_code_page, name="qr_code_page"),
    path("pic/<str:auth_code>/", views.qr_code_picture, name="auth_qr_code"),
    path("invalid_code/", views.invalid_code, name="invalid_auth_code"),
    path("status/<str:auth_code>/", views.code_status, name="qrauth_status"),
    path("cancel/<str:auth_code>/", views.cancel_code, name="qrauth_cancel"),
    # Last: the scan URL takes any one path segment, as 0.1.x did.
    path("<str:auth_code>/", views.qr_code_login, name="qr_code_login"),
]
