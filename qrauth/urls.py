"""URLs of qrauth: ``path("qr/", include("qrauth.urls"))``.

The names of the hand-off flow are those of django-qrauth 0.1.x, so its
templates keep working; new names start with ``qrauth_``.
"""

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.urls import path

from . import views

# Without the app its templates are missing: the phone would get a 500 in
# the middle of signing in, instead of the site failing at startup.
if not apps.is_installed("qrauth"):
    raise ImproperlyConfigured(
        'qrauth.urls is included, but qrauth is not installed: add "qrauth" to INSTALLED_APPS.'
    )

urlpatterns = [
    # Hand-off: a signed-in desktop signs a phone in.
    path("", views.qr_code_page, name="qr_code_page"),
    path("pic/<str:auth_code>/", views.qr_code_picture, name="auth_qr_code"),
    path("invalid_code/", views.invalid_code, name="invalid_auth_code"),
    # Hand-off with desktop confirmation (AUTH_QR_CODE_DESKTOP_CONFIRMATION).
    path("confirm/<str:auth_code>/", views.handoff_decide, name="qrauth_handoff_decide"),
    path("wait/<str:auth_code>/", views.handoff_wait, name="qrauth_handoff_wait"),
    path("wait/<str:auth_code>/events/", views.wait_events, name="qrauth_wait_events"),
    path("finish/<str:auth_code>/", views.handoff_finish, name="qrauth_handoff_finish"),
    path("step-up/", views.step_up, name="qrauth_step_up"),
    # Hand-off: the phone's question after a scan, without the token in the URL.
    path("continue/", views.handoff_continue, name="qrauth_continue"),
    # Both flows: the issuing browser's status poll and Cancel button.
    path("status/<str:auth_code>/", views.code_status, name="qrauth_status"),
    # ... or its event stream, where pushed (AUTH_QR_CODE_PUSH).
    path("events/<str:auth_code>/", views.code_events, name="qrauth_events"),
    path("cancel/<str:auth_code>/", views.cancel_code, name="qrauth_cancel"),
    # Approve: a signed-in phone signs a desktop in.
    path("signin/", views.signin, name="qrauth_signin"),
    path("signin/pic/<str:auth_code>/", views.signin_picture, name="qrauth_signin_picture"),
    path("signin/collect/<str:auth_code>/", views.collect_signin, name="qrauth_collect"),
    path("approve/", views.approve_resume, name="qrauth_approve_resume"),
    path("approve/<str:auth_code>/", views.approve, name="qrauth_approve"),
    # The JSON API of the phone's side, for a site's own app (views/api.py).
    path("api/approve/", views.api_approve_answer, name="qrauth_api_approve_answer"),
    path("api/approve/<str:auth_code>/", views.api_approve, name="qrauth_api_approve"),
    path("api/handoff/", views.api_handoff_answer, name="qrauth_api_handoff_answer"),
    path("api/handoff/wait/<str:wait>/", views.api_handoff_wait, name="qrauth_api_handoff_wait"),
    path(
        "api/handoff/wait/<str:wait>/finish/",
        views.api_handoff_finish,
        name="qrauth_api_handoff_finish",
    ),
    path("api/handoff/<str:auth_code>/", views.api_handoff, name="qrauth_api_handoff"),
    path("api/devices/", views.api_devices, name="qrauth_api_devices"),
    path(
        "api/devices/sign-out-others/",
        views.api_devices_sign_out_others,
        name="qrauth_api_devices_sign_out_others",
    ),
    path(
        "api/devices/<str:device>/sign-out/",
        views.api_device_sign_out,
        name="qrauth_api_device_sign_out",
    ),
    path("api/openapi.json", views.api_schema, name="qrauth_api_schema"),
    # The devices qrauth signed in, and signing them out.
    path("devices/", views.devices, name="qrauth_devices"),
    path(
        "devices/<uuid:public_id>/sign-out/",
        views.device_sign_out,
        name="qrauth_device_sign_out",
    ),
    path(
        "devices/sign-out-others/",
        views.devices_sign_out_others,
        name="qrauth_devices_sign_out_others",
    ),
    # Last: the hand-off scan URL takes any one path segment, as 0.1.x did.
    path("<str:auth_code>/", views.qr_code_login, name="qr_code_login"),
]
