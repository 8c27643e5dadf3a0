"""Portal-wide pages: health check, sign-in and the signed-in workbench (the public site is in reviews/public.py)."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.security import LockoutAuthenticationForm
from portal.views_accounts import after_password


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class LoginView(auth_views.LoginView):
    """Password step. The lockout sits in front of the password check (security.LockoutAuthenticationForm);
    accounts with a second factor continue to the code step and are not signed in here."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True
    form_class = LockoutAuthenticationForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context.update(failure_limit=settings.LOGIN_FAILURE_LIMIT, lockout_minutes=settings.LOGIN_LOCKOUT_MINUTES)
        return context

    def form_valid(self, form: LockoutAuthenticationForm) -> HttpResponse:
        return after_password(self.request, form.get_user(), self.get_success_url())


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    auth.logout(request)
    return redirect("public:home")


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/dashboard.html", {})
