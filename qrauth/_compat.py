"""Every shim for older Django versions, in one place."""

try:  # Django 5.1+: views that LoginRequiredMiddleware must let through
    from django.contrib.auth.decorators import login_not_required
except ImportError:  # Django 4.2, 5.0: there is no such middleware

    def login_not_required(view_func):
        return view_func


__all__ = ["login_not_required"]
