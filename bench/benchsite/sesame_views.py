"""The peer: QR sign-in built from django-sesame one-time tokens and qrcode.

What a developer would build without qrauth, following django-sesame's
documentation: a signed-in page shows an image, the image is a QR code of a
magic link (SESAME_ONE_TIME, SESAME_MAX_AGE = 300), and the link asks
"sign in as ...?" before a POST signs the phone in. The GET does not sign
in, so that the journey has the same steps as qrauth's hand-off (and is as
safe from link prefetchers); it has none of qrauth's other protections
(binding to the browser, single use under a race, rate limits).
"""

from __future__ import annotations

import io

import qrcode
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from sesame.utils import get_query_string, get_user


@login_required
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    return render(request, "benchsite/sesame_page.html")


@login_required
@require_GET
def picture(request: HttpRequest) -> HttpResponse:
    link = request.build_absolute_uri(reverse("sesame_confirm")) + get_query_string(request.user)
    out = io.BytesIO()
    qrcode.make(link).save(out)
    return HttpResponse(out.getvalue(), content_type="image/png")


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest) -> HttpResponse:
    token = (
        request.POST.get("sesame", "")
        if request.method == "POST"
        else request.GET.get("sesame", "")
    )
    # As django-sesame's documentation advises when login() follows: login()
    # updates last_login, which is what uses a one-time token up.
    user = get_user(token, update_last_login=False)
    if user is None:
        return HttpResponseForbidden("this link does not work (any more)")
    if request.method == "GET":
        return render(request, "benchsite/sesame_confirm.html", {"account": user, "token": token})
    login(request, user)
    return redirect("/")
