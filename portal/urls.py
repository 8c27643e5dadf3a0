from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from portal import views, views_accounts, views_inbox

app_name = "portal"

portal_patterns = [
    path("healthz", views.healthz, name="healthz"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", views.logout_view, name="logout"),
    path("workbench/", views.dashboard, name="dashboard"),
    path("inbox/", views_inbox.inbox, name="inbox"),
    path("inbox/read/", views_inbox.inbox_read, name="inbox_read"),
    # Account security (portal/views_accounts.py)
    path("accounts/login/code/", views_accounts.login_totp, name="login_totp"),
    path("accounts/login/bind-totp/", views_accounts.login_totp_setup, name="login_totp_setup"),
    path("accounts/password/", views_accounts.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/security/", views_accounts.account_security, name="account_security"),
    path("accounts/security/totp/", views_accounts.totp_setup, name="totp_setup"),
    path("accounts/security/totp/disable/", views_accounts.totp_disable, name="totp_disable"),
    path("accounts/roles/", views_accounts.role_list, name="role_list"),
    path("accounts/roles/<int:pk>/", views_accounts.role_assign, name="role_assign"),
    path("audit/", views_accounts.audit_log, name="audit_log"),
    path("audit/export.csv", views_accounts.audit_export, name="audit_export"),
    # Matched before admin.site.urls: the admin's own login would bypass the lockout and second factor.
    path("admin/login/", views_accounts.admin_login_redirect, name="admin_login"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("applications/", include("workshops.urls")),
    path("reviews/", include("reviews.urls")),
    # The public site lives in reviews (the top of reviews → workshops → portal): it shows notices
    # and studios, which portal may not import.
    path("", include("reviews.public_urls")),
    path("admin/", admin.site.urls),
]
