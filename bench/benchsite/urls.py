"""qrauth under /qr/, the baseline views, and the django-sesame journey."""

from django.urls import include, path

from . import sesame_views, views

urlpatterns = [
    path("qr/", include("qrauth.urls")),
    path("bare/<str:key>/", views.bare, name="bare"),
    path("bare-events/<str:key>/", views.bare_events, name="bare_events"),
    path("whoami/", views.whoami, name="whoami"),
    path("sesame/", sesame_views.page, name="sesame_page"),
    path("sesame/pic/", sesame_views.picture, name="sesame_picture"),
    path("sesame/login/", sesame_views.confirm, name="sesame_confirm"),
]
