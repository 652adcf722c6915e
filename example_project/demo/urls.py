from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("qr/", include("qrauth.urls")),
    path("admin/", admin.site.urls),
    # The demo app's sign-in: a username and password for a token.
    path("api/token/", obtain_auth_token, name="api_token"),
]
