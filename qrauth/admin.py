"""The admin's view of the sign-ins on record: read-only, for staff with the
"view" permission. A record is evidence: nobody adds, edits or deletes one
by hand (``qrauth_prune_signins`` deletes old ones)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import SignIn

__all__ = ["SignInAdmin", "SignedOutFilter"]


class SignedOutFilter(admin.SimpleListFilter):
    title = _("sign-out")
    parameter_name = "signed_out"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("yes", _("signed out")), ("no", _("not signed out"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SignIn]) -> QuerySet[SignIn]:
        if self.value() in ("yes", "no"):
            return queryset.filter(signed_out_at__isnull=self.value() == "no")
        return queryset


@admin.register(SignIn)
class SignInAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "flow", "outcome", "device", "address", "signed_out_at")
    list_filter = ("flow", "outcome", SignedOutFilter)
    list_select_related = ("user",)

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        return [f"user__{get_user_model().USERNAME_FIELD}"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
