from django.contrib.auth.views import LogoutView
from django.http import HttpResponse
from django.urls import include, path


def home(request):
    return HttpResponse(f"home: {request.user.get_username() or 'anonymous'}")


urlpatterns = [
    path("", home, name="home"),
    path("logout/", LogoutView.as_view(next_page="/"), name="logout"),
    path("qr/", include("qrauth.urls")),
]
