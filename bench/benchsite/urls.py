"""qrauth under /qr/, and the baseline view."""

from django.urls import include, path

from . import views

urlpatterns = [
    path("qr/", include("qrauth.urls")),
    path("bare/<str:key>/", views.bare, name="bare"),
]
