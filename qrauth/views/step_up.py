"""Re-entering the password before a hand-off code appears (step-up).

See qrauth/stepup.py. A site with its own re-authentication (a second
factor, say) names it in AUTH_QR_CODE_STEP_UP_URL instead; it gets
``?next=`` and calls ``qrauth.stepup.mark_authenticated(request)``.
"""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from ..conf import settings
from ..stepup import mark_authenticated
from .common import protected, redirect_after, safe_next

__all__ = ["redirect_to_step_up", "step_up", "step_up_url"]


def _step_up_view() -> str:
    return resolve_url(settings.STEP_UP_URL or "qrauth_step_up")


def redirect_to_step_up(request: HttpRequest) -> HttpResponse:
    """To the step-up view, and back to this page after it."""
    return redirect_to_login(request.get_full_path(), _step_up_view(), "next")


def step_up_url(next_url: str) -> str:
    """The step-up view's URL, back to ``next_url`` after it."""
    return redirect_to_login(next_url, _step_up_view(), "next")["Location"]


@login_required
@csrf_protect
@require_http_methods(["GET", "POST"])
@protected
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
    context = {"error": error, "next": safe_next(request, "")}
    return render(request, "qrauth/step_up.html", context, status=400 if error else 200)
