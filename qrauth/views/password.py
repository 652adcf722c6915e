"""Re-entering the password before a hand-off code appears (step-up).

See qrauth/stepup.py. A site with its own re-authentication (a second
factor, say) names it in AUTH_QR_CODE_STEP_UP_URL instead; it gets
``?next=`` and calls ``qrauth.stepup.mark_authenticated(request)``.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _

from ..stepup import mark_authenticated
from .decorators import qrauth_view
from .responses import home_url, redirect_after, safe_next

__all__ = ["step_up"]


@qrauth_view(("GET", "POST"), login=True)
def step_up(request: HttpRequest) -> HttpResponse:
    """Ask for the signed-in user's password; back to ``next`` once it is right."""
    error = ""
    if request.method == "POST":
        # authenticate(), not check_password(): a failure sends
        # user_login_failed, so lockout apps (django-axes) count it.
        user = authenticate(
            request,
            username=request.user.get_username(),
            password=request.POST.get("password", ""),
        )
        if user is not None and user.pk == request.user.pk:
            mark_authenticated(request)
            return redirect_after(request, reverse("qr_code_page"))
        error = _("That is not the password of this account.")
    context = {"error": error, "next": safe_next(request, ""), "home_url": home_url()}
    return render(request, "qrauth/step_up.html", context, status=400 if error else 200)
