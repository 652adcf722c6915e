from django.contrib.auth.views import LogoutView
from django.http import HttpResponse
from django.urls import include, path
from rest_framework.authtoken.views import obtain_auth_token


def home(request):
    return HttpResponse(f"home: {request.user.get_username() or 'anonymous'}")


urlpatterns = [
    path("", home, name="home"),
    path("logout/", LogoutView.as_view(next_page="/"), name="logout"),
    path("qr/", include("qrauth.urls")),
    # The apps' own sign-in, for the JSON API's header credentials.
    path("_allauth/", include("allauth.headless.urls")),
    path("api-token-auth/", obtain_auth_token),
]
